using Idempotency.Redis.Tests.Infrastructure;
using Idempotency.Stores.Conformance.ConditionalWrites;

namespace Idempotency.Redis.Tests.ConditionalWrites;

/// <summary>The versioned-record conformance suite, against a real redis-server.</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisVersionedRecordStoreConformanceTests(RedisServerFixture redis) : VersionedRecordStoreConformanceTests, IAsyncLifetime
{
    private RedisConditionalWriteHost? _host;

    protected override IVersionedRecordStore Store => _host!.Records;

    public async Task InitializeAsync() => _host = await RedisConditionalWriteHost.StartAsync(redis.Server.ConnectionString());

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }
}
