using System.Diagnostics;
using Idempotency.Core.Tests.Engine;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Options;
using static Idempotency.Core.Tests.Engine.EngineFactory;

namespace Idempotency.Core.Tests.Telemetry;

// Issue 15: "Meter and ActivitySource names are the package names", so that AddMeter/AddSource name what emits.
public sealed class TelemetryNamesTests
{
    [Fact]
    public void MeterAndActivitySourceNames_AreThePackageName()
    {
        var package = typeof(IdempotencyTelemetry).Assembly.GetName().Name;

        Assert.Equal("Idempotency.Core", package);
        Assert.Equal(IdempotencyTelemetry.MeterName, package);
        Assert.Equal(IdempotencyTelemetry.ActivitySourceName, package);
    }

    [Fact]
    public async Task StoreCalls_AreTracedOnTheIdempotencyCoreSource_AndTimedOnTheIdempotencyCoreMeter()
    {
        var time = Time();
        var spans = new List<string>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Idempotency.Core",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStopped = activity => { lock (spans) { spans.Add(activity.OperationName); } },
        };
        ActivitySource.AddActivityListener(listener);
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meters = services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        using var durations = new MetricCollector<double>(meters, "Idempotency.Core", "idempotency.store.duration");
        var store = new InMemoryIdempotencyStore(Options.Create(new InMemoryIdempotencyStoreOptions()), time);
        var key = "names-" + Guid.NewGuid().ToString("N");

        await Create(time, meters: meters).ExecuteAsync(Request(store, key), new ScriptedWork(), CancellationToken.None);

        Assert.Equal(["claim", "complete"], durations.GetMeasurementSnapshot().Select(m => (string?)m.Tags["operation"]));
        lock (spans)
        {
            Assert.Contains("idempotency.store.claim", spans);
            Assert.Contains("idempotency.store.complete", spans);
        }
    }

    [Fact]
    public void InMemoryStoreEvictions_AreOnTheIdempotencyCoreMeter()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meters = services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        using var evictions = new MetricCollector<long>(meters, "Idempotency.Core", "idempotency.store.evictions");

        new InMemoryStoreMetrics(meters).Evicted(forFull: 2, forShare: 0);

        var measurement = Assert.Single(evictions.GetMeasurementSnapshot());
        Assert.Equal(2, measurement.Value);
        Assert.Equal("full", measurement.Tags["reason"]);
    }
}
