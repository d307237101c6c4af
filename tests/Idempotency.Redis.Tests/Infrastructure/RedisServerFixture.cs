namespace Idempotency.Redis.Tests.Infrastructure;

/// <summary>One <c>redis-server</c> shared by the Redis test collection, started once per test run.</summary>
public sealed class RedisServerFixture : IAsyncLifetime
{
    private RedisServer? _server;

    public RedisServer Server => _server ?? throw new InvalidOperationException("The Redis server has not started.");

    public async Task InitializeAsync() => _server = await RedisServer.StartAsync();

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

/// <summary>
/// Every Redis test class belongs to this collection: they share the fixture's server and run one after another,
/// so commands counted on a server come only from the test that counts them, and the two cores are not oversubscribed.
/// </summary>
[CollectionDefinition(Name)]
public sealed class RedisCollection : ICollectionFixture<RedisServerFixture>
{
    public const string Name = "Redis server";
}
