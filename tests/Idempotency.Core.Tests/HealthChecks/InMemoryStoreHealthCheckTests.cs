using Idempotency.Core.Tests.InMemory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Idempotency.Core.Tests.HealthChecks;

/// <summary><c>AddHealthChecks().AddIdempotencyStore()</c> over the in-memory store: its fill level.</summary>
public sealed class InMemoryStoreHealthCheckTests
{
    [Fact]
    public async Task HealthCheck_ReportsHealthy_WhenTheStoreIsBelowTheThreshold()
    {
        await using var provider = Build(o => o.MaxEntries = 10);
        var store = provider.GetRequiredService<IIdempotencyStore>();
        for (var i = 0; i < 9; i++)
        {
            await InMemoryStoreDriver.ClaimAndCompleteAsync((InMemoryIdempotencyStore)store, "s", InMemoryStoreDriver.Key("s", i));
        }

        var report = await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync();

        var entry = Assert.Single(report.Entries);
        Assert.Equal("idempotency-store", entry.Key);
        Assert.Equal(HealthStatus.Healthy, entry.Value.Status);
        Assert.Equal(9, entry.Value.Data["records"]);
        Assert.Equal(0.9, (double)entry.Value.Data["fillLevel"], 3);
    }

    [Fact]
    public async Task HealthCheck_ReportsDegraded_WhenTheStoreIsFilledPastTheThreshold()
    {
        await using var provider = Build(o => o.MaxEntries = 10);
        var store = (InMemoryIdempotencyStore)provider.GetRequiredService<IIdempotencyStore>();
        for (var i = 0; i < 10; i++)
        {
            await InMemoryStoreDriver.ClaimAndCompleteAsync(store, "s", InMemoryStoreDriver.Key("s", i));
        }

        var report = await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync();

        var entry = Assert.Single(report.Entries).Value;
        Assert.Equal(HealthStatus.Degraded, entry.Status);
        Assert.Contains("DegradedFillLevel", entry.Description, StringComparison.Ordinal);
        Assert.Contains("evicts completed records early", entry.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HealthCheck_MeasuresBytesToo_AndHonoursAConfiguredThreshold()
    {
        await using var provider = Build(o =>
        {
            o.MaxBytes = 10_000;
            o.DegradedFillLevel = 0.5;
            o.WhenFull = InMemoryStoreFullBehavior.RefuseNewClaims;
            o.MaxScopeShare = 1;
        });
        var store = (InMemoryIdempotencyStore)provider.GetRequiredService<IIdempotencyStore>();
        await InMemoryStoreDriver.ClaimAndCompleteAsync(store, "s", InMemoryStoreDriver.Key("s", 1), payloadSize: 6_000);

        var report = await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync();

        var entry = Assert.Single(report.Entries).Value;
        Assert.Equal(HealthStatus.Degraded, entry.Status);
        Assert.Contains("refuses new keys", entry.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HealthCheck_UsesTheGivenName_AndTags()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddHealthChecks().AddIdempotencyStore("store", tags: ["ready"]);
        services.AddIdempotentExecutor();
        await using var provider = services.BuildServiceProvider();

        var report = await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync(r => r.Tags.Contains("ready"));

        Assert.Equal(HealthStatus.Healthy, Assert.Single(report.Entries, e => e.Key == "store").Value.Status);
    }

    [Fact]
    public async Task HealthCheck_ReportsHealthy_WithANote_ForAStoreWithoutACheckOfItsOwn()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddIdempotentExecutor().UseStore<StoreWithoutHealthCheck>();
        services.AddHealthChecks().AddIdempotencyStore();
        await using var provider = services.BuildServiceProvider();

        var report = await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync();

        var entry = Assert.Single(report.Entries).Value;
        Assert.Equal(HealthStatus.Healthy, entry.Status);
        Assert.Contains("StoreWithoutHealthCheck has no health check of its own", entry.Description, StringComparison.Ordinal);
    }

    // The health checks are registered before the store here, as an application may well do: the check asks the store that won.
    private static ServiceProvider Build(Action<InMemoryIdempotencyStoreOptions> configure)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddHealthChecks().AddIdempotencyStore();
        services.AddIdempotentExecutor().AddInMemoryStore(configure);
        return services.BuildServiceProvider();
    }

    private sealed class StoreWithoutHealthCheck : IIdempotencyStore
    {
        public ValueTask<IdempotencyClaimResult> ClaimAsync(IdempotencyClaimRequest request, CancellationToken cancellationToken) => throw new NotSupportedException();

        public ValueTask<CompletionStatus> CompleteAsync(IdempotencyCompleteRequest request, CancellationToken cancellationToken) => throw new NotSupportedException();

        public ValueTask<bool> ReleaseAsync(string key, string ownerToken, CancellationToken cancellationToken) => throw new NotSupportedException();
    }
}
