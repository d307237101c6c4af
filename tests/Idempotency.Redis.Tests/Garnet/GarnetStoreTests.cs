using Idempotency.Redis.Tests.Infrastructure;
using Idempotency.Stores.Conformance;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;

namespace Idempotency.Redis.Tests.Garnet;

/// <summary>The store conformance suite against Microsoft Garnet, as <see cref="RedisStoreConformanceTests"/> runs it against Redis.</summary>
[Collection(GarnetCollection.Name)]
public sealed class GarnetStoreConformanceTests(GarnetServerFixture garnet) : IdempotencyStoreConformanceTests, IAsyncLifetime
{
    private RedisStoreHost? _host;

    protected override IIdempotencyStore Store => _host!.Store;

    // Garnet judges leases by its own clock, to the millisecond, like Redis.
    protected override TimeSpan ShortLease => TimeSpan.FromMilliseconds(200);

    public async Task InitializeAsync() => _host = await RedisStoreHost.StartAsync(idempotency => idempotency.AddRedisStore(garnet.Server.ConnectionString()));

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }

    protected override Task AdvanceTimeAsync(TimeSpan duration) => Task.Delay(duration);
}

/// <summary>64 concurrent duplicates across two application instances sharing one Garnet: one winner, one execution.</summary>
[Collection(GarnetCollection.Name)]
public sealed class GarnetMultiInstanceTests(GarnetServerFixture garnet) : RedisMultiInstanceTests
{
    protected override string ConnectionString => garnet.Server.ConnectionString();
}

/// <summary>The eviction-policy check on Garnet, which has no <c>maxmemory-policy</c> but drops records without <c>--storage-tier</c>.</summary>
[Collection(GarnetCollection.Name)]
public sealed class GarnetEvictionPolicyCheckTests(GarnetServerFixture garnet)
{
    [Fact]
    public async Task Startup_WarnsWhatToConfigure_OnGarnetWithoutStorageTier()
    {
        await using var host = await RedisStoreHost.StartAsync(idempotency => idempotency.AddRedisStore(garnet.Server.ConnectionString()));

        var warning = Assert.Single(host.LogsWithId(RedisLogEvents.GarnetMemoryOnly));
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains(garnet.Server.EndPoint, warning.Message, StringComparison.Ordinal);
        Assert.Contains("--storage-tier", warning.Message, StringComparison.Ordinal);
        Assert.Empty(host.LogsWithId(RedisLogEvents.EvictionPolicyNotChecked));
        Assert.Empty(host.LogsWithId(RedisLogEvents.EvictionPolicyUnsafe));
    }

    [Fact]
    public async Task Startup_Throws_OnGarnetWithoutStorageTier_WhenCheckIsFail()
    {
        await using var host = RedisStoreHost.Create(idempotency => idempotency.AddRedisStore(
            garnet.Server.ConnectionString(), options => options.EvictionPolicyCheck = RedisEvictionPolicyCheck.Fail));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(host.StartAsync);

        Assert.StartsWith($"Garnet at {garnet.Server.EndPoint} runs without --storage-tier", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Startup_AcceptsGarnetWithStorageTier_EvenWhenCheckIsFail()
    {
        await using var tiered = await GarnetServer.StartAsync(storageTier: true);

        await using var host = await RedisStoreHost.StartAsync(idempotency => idempotency.AddRedisStore(
            tiered.ConnectionString(), options => options.EvictionPolicyCheck = RedisEvictionPolicyCheck.Fail));

        Assert.DoesNotContain(host.Logs.GetSnapshot(), r => r.Level >= LogLevel.Warning);
        Assert.Single(host.LogsWithId(RedisLogEvents.GarnetStorageTier));
    }

    [Fact]
    public async Task HealthCheck_ReportsDegraded_OnGarnetWithoutStorageTier()
    {
        await using var host = await RedisStoreHost.StartAsync(
            idempotency => idempotency.AddRedisStore(garnet.Server.ConnectionString()),
            services => services.AddHealthChecks().AddIdempotencyStore());

        var report = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        var entry = Assert.Single(report.Entries, e => e.Key == "idempotency-store").Value;

        Assert.Equal(HealthStatus.Degraded, entry.Status);
        Assert.Contains("--storage-tier", entry.Description, StringComparison.Ordinal);
    }
}
