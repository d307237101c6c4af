using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using static Idempotency.Core.Tests.InMemory.InMemoryStoreDriver;

namespace Idempotency.Core.Tests.InMemory;

/// <summary>The eviction counter, the eviction warning and the share refusal's log.</summary>
public sealed class InMemoryStoreTelemetryTests : IDisposable
{
    private readonly InMemoryStoreDriver _driver = new();
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();

    public void Dispose() => _services.Dispose();

    [Fact]
    public async Task Evictions_AreCounted_WithTheStoreAndWhyTheRecordWasChosen()
    {
        var meterFactory = _services.GetRequiredService<IMeterFactory>();
        using var evictions = new MetricCollector<long>(meterFactory, IdempotencyTelemetry.MeterName, "idempotency.store.evictions");
        var store = _driver.Create(new() { MaxEntries = 4, MaxScopeShare = 0.5 }, meterFactory: meterFactory); // 2 records a scope
        await ClaimAndCompleteAsync(store, "a", Key("a", 0));
        await ClaimAndCompleteAsync(store, "a", Key("a", 1));
        await ClaimAndCompleteAsync(store, "b", Key("b", 0));
        await ClaimAndCompleteAsync(store, "b", Key("b", 1));

        await ClaimAsync(store, "c", Key("c", 0)); // nobody over its share: the oldest record goes
        await ClaimAsync(store, "b", Key("b", 2)); // b would go over its share: its own oldest goes

        var measurements = evictions.GetMeasurementSnapshot();
        Assert.Equal(2, measurements.Count);
        Assert.All(measurements, m => Assert.Equal(1, m.Value));
        Assert.All(measurements, m => Assert.Equal("inmemory", m.Tags["store"]));
        Assert.Equal(["full", "scope_share"], measurements.Select(m => (string?)m.Tags["reason"]));
        Assert.Equal("{record}", evictions.Instrument!.Unit);
    }

    [Fact]
    public async Task EvictionsOfAStoreUsedByOneScope_AreCountedAsFull()
    {
        var meterFactory = _services.GetRequiredService<IMeterFactory>();
        using var evictions = new MetricCollector<long>(meterFactory, IdempotencyTelemetry.MeterName, "idempotency.store.evictions");
        var store = _driver.Create(new() { MaxEntries = 10 }, meterFactory: meterFactory); // the default share: 1 record

        for (var i = 0; i < 15; i++)
        {
            await ClaimAndCompleteAsync(store, "only", Key("only", i));
        }

        var measurements = evictions.GetMeasurementSnapshot();
        Assert.Equal(5, measurements.Sum(m => m.Value));
        Assert.All(measurements, m => Assert.Equal("full", m.Tags["reason"]));
    }

    [Fact]
    public async Task EvictionWarning_IsLoggedAtMostOnceAMinute_WithTheDedupWindowThatRemains_AndNoKeyOrScope()
    {
        var logger = new FakeLogger<InMemoryIdempotencyStore>();
        var store = _driver.Create(new() { MaxEntries = 3, MaxScopeShare = 1 }, logger);
        for (var i = 0; i < 3; i++)
        {
            await ClaimAndCompleteAsync(store, "tenant-42", Key("tenant-42", i)); // completed at 0, 10 and 20 s
            _driver.Time.Advance(TimeSpan.FromSeconds(10));
        }

        await ClaimAndCompleteAsync(store, "tenant-42", Key("tenant-42", 3)); // at 30 s: evicts the first, warns
        _driver.Time.Advance(TimeSpan.FromSeconds(10));
        await ClaimAndCompleteAsync(store, "tenant-42", Key("tenant-42", 4)); // at 40 s: evicts the second, within the minute
        _driver.Time.Advance(TimeSpan.FromSeconds(50));
        await ClaimAndCompleteAsync(store, "tenant-42", Key("tenant-42", 5)); // at 90 s: evicts the third, warns again

        var warnings = logger.Collector.GetSnapshot();
        Assert.Equal(2, warnings.Count);
        Assert.All(warnings, w => Assert.Equal(LogLevel.Warning, w.Level));
        Assert.All(warnings, w => Assert.Equal(new EventId(401, "StoreEvicting"), w.Id));
        Assert.Equal("1", warnings[0].GetStructuredStateValue("Evicted"));
        Assert.Equal(TimeSpan.FromSeconds(20).ToString(), warnings[0].GetStructuredStateValue("DedupWindow")); // 30 s - the second's 10 s
        Assert.Equal("2", warnings[1].GetStructuredStateValue("Evicted"));
        Assert.Equal(TimeSpan.FromSeconds(60).ToString(), warnings[1].GetStructuredStateValue("DedupWindow")); // 90 s - the fourth's 30 s
        Assert.All(warnings, w => Assert.DoesNotContain("tenant-42", w.Message, StringComparison.Ordinal));
        Assert.All(warnings, w => Assert.Contains("MaxEntries", w.Message, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ScopeShareRefusal_IsLoggedAtDebugOnly()
    {
        var logger = new FakeLogger<InMemoryIdempotencyStore>();
        var store = _driver.Create(new() { MaxEntries = 10, MaxScopeShare = 0.1, WhenFull = InMemoryStoreFullBehavior.RefuseNewClaims }, logger);
        await ClaimAsync(store, "tenant-42", Key("tenant-42", 0));

        await Assert.ThrowsAsync<IdempotencyScopeQuotaExceededException>(() => ClaimAsync(store, "tenant-42", Key("tenant-42", 1)));

        var record = Assert.Single(logger.Collector.GetSnapshot());
        Assert.Equal(LogLevel.Debug, record.Level);
        Assert.Equal(new EventId(402, "ScopeShareExceeded"), record.Id);
        Assert.DoesNotContain("tenant-42", record.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StoreResolvedFromTheContainer_CountsEvictionsOnItsMeterFactory_AndLogsThroughItsLogger()
    {
        var collector = new FakeLogCollector();
        var services = new ServiceCollection()
            .AddMetrics()
            .AddLogging(logging => logging.AddProvider(new FakeLoggerProvider(collector)));
        services.AddIdempotentExecutor().AddInMemoryStore(o =>
        {
            o.MaxEntries = 1;
            o.MaxScopeShare = 1;
        });
        using var provider = services.BuildServiceProvider();
        using var evictions = new MetricCollector<long>(provider.GetRequiredService<IMeterFactory>(), IdempotencyTelemetry.MeterName, "idempotency.store.evictions");
        var executor = provider.GetRequiredService<IdempotentExecutor>();

        await executor.ExecuteAsync(new IdempotentOperation("first", "a"u8.ToArray()), _ => ValueTask.FromResult(new Execution.Receipt("r-1", 1)), Execution.ReceiptJsonContext.Default.Receipt);
        await executor.ExecuteAsync(new IdempotentOperation("second", "b"u8.ToArray()), _ => ValueTask.FromResult(new Execution.Receipt("r-2", 2)), Execution.ReceiptJsonContext.Default.Receipt);

        Assert.Equal(1, evictions.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.Contains(collector.GetSnapshot(), r => r.Id.Id == 401);
    }
}
