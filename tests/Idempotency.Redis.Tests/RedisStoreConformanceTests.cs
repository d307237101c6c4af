using Idempotency.Redis.Tests.Infrastructure;
using Idempotency.Stores.Conformance;
using Microsoft.Extensions.DependencyInjection;

namespace Idempotency.Redis.Tests;

/// <summary>The store conformance suite, against a real redis-server. Time passes for real: Redis judges leases by its own clock.</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisStoreConformanceTests(RedisServerFixture redis) : IdempotencyStoreConformanceTests, IAsyncLifetime
{
    private RedisStoreHost? _host;

    protected override IIdempotencyStore Store => _host!.Store;

    // Redis expires to the millisecond, so a short lease keeps the suite quick.
    protected override TimeSpan ShortLease => TimeSpan.FromMilliseconds(200);

    public async Task InitializeAsync() => _host = await RedisStoreHost.StartAsync(idempotency => idempotency.AddRedisStore(redis.Server.ConnectionString()));

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }

    protected override Task AdvanceTimeAsync(TimeSpan duration) => Task.Delay(duration);
}
