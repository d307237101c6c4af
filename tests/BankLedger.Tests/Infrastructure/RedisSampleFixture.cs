using Idempotency.Redis.Tests.Infrastructure;

namespace BankLedger.Tests.Infrastructure;

/// <summary>One redis-server for the sample's redis-mode tests, started and stopped as the store tests do it.</summary>
public sealed class RedisSampleFixture : IAsyncLifetime
{
    private RedisServer? _server;

    public RedisServer Server => _server ?? throw new InvalidOperationException("The fixture has not started.");

    public async Task InitializeAsync() => _server = await RedisServer.StartAsync();

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class RedisSampleCollection : ICollectionFixture<RedisSampleFixture>
{
    public const string Name = "Sample on Redis";
}
