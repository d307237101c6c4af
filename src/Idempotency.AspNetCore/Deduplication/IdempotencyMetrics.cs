using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Idempotency.AspNetCore.Deduplication;

/// <summary>The middleware's instruments, created from <see cref="IMeterFactory"/>.</summary>
internal sealed class IdempotencyMetrics
{
    public const string RequestsInstrument = "idempotency.requests";
    public const string StoreDurationInstrument = "idempotency.store.duration";

    private readonly Counter<long> _requests;
    private readonly Histogram<double> _storeDuration;

    public IdempotencyMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(IdempotencyTelemetry.MeterName);
        _requests = meter.CreateCounter<long>(
            RequestsInstrument,
            unit: "{request}",
            description: "Requests to endpoints with idempotency enabled, by outcome.");
        _storeDuration = meter.CreateHistogram(
            StoreDurationInstrument,
            unit: "s",
            description: "Duration of idempotency store operations.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] });
    }

    public void Request(string outcome) => _requests.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

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
