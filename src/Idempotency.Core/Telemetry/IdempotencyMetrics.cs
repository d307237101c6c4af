using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Idempotency;

/// <summary>The engine's instruments, created from <see cref="IMeterFactory"/> on the library's meter.</summary>
internal sealed class IdempotencyMetrics
{
    public const string RequestsInstrument = "idempotency.requests";
    public const string StoreDurationInstrument = "idempotency.store.duration";

    private static readonly Lazy<Meter> s_standaloneMeter = new(() => new Meter(IdempotencyTelemetry.MeterName));

    private readonly Counter<long> _requests;
    private readonly Histogram<double> _storeDuration;

    public IdempotencyMetrics(IMeterFactory? meterFactory)
    {
        // Without a factory (an executor in a console app without AddMetrics), one meter for the process.
        var meter = meterFactory?.Create(IdempotencyTelemetry.MeterName) ?? s_standaloneMeter.Value;
        _requests = meter.CreateCounter<long>(
            RequestsInstrument,
            unit: "{request}",
            description: "Keyed operations (requests to endpoints with idempotency enabled, executor calls), by outcome.");
        _storeDuration = meter.CreateHistogram(
            StoreDurationInstrument,
            unit: "s",
            description: "Duration of idempotency store operations.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] });
    }

    public void Request(string outcome) => _requests.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    /// <summary>Gets whether anything listens to <c>idempotency.store.duration</c>, so that store calls are worth timing.</summary>
    public bool StoreDurationEnabled => _storeDuration.Enabled;

    public void StoreOperation(string operation, string store, bool succeeded, long startTimestamp, long endTimestamp)
    {
        if (!_storeDuration.Enabled)
        {
            return;
        }

        var tags = new TagList
        {
            { "operation", operation },
            { "store", store },
            { "result", succeeded ? "success" : "failure" },
        };
        _storeDuration.Record(Stopwatch.GetElapsedTime(startTimestamp, endTimestamp).TotalSeconds, tags);
    }
}
