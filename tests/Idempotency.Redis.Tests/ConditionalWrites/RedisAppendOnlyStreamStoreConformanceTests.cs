using Idempotency.Redis.Tests.Infrastructure;
using Idempotency.Stores.Conformance.ConditionalWrites;

namespace Idempotency.Redis.Tests.ConditionalWrites;

/// <summary>The append-only stream conformance suite, against a real redis-server.</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisAppendOnlyStreamStoreConformanceTests(RedisServerFixture redis) : AppendOnlyStreamStoreConformanceTests, IAsyncLifetime
{
    private RedisConditionalWriteHost? _host;

    protected override IAppendOnlyStreamStore Store => _host!.Streams;

    public async Task InitializeAsync() => _host = await RedisConditionalWriteHost.StartAsync(redis.Server.ConnectionString());

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }
}
