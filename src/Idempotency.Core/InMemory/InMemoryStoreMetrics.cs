using System.Diagnostics.Metrics;

namespace Idempotency;

/// <summary>The in-memory store's instruments, on this package's meter (<see cref="IdempotencyTelemetry.MeterName"/>), created from <see cref="IMeterFactory"/>.</summary>
internal sealed class InMemoryStoreMetrics
{
    public const string EvictionsInstrument = "idempotency.store.evictions";

    private static readonly KeyValuePair<string, object?> s_store = new("store", InMemoryIdempotencyStore.StoreName);
    private static readonly KeyValuePair<string, object?> s_full = new("reason", "full");
    private static readonly KeyValuePair<string, object?> s_scopeShare = new("reason", "scope_share");

    private readonly Counter<long> _evictions;

    public InMemoryStoreMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(IdempotencyTelemetry.MeterName);
        _evictions = meter.CreateCounter<long>(
            EvictionsInstrument,
            unit: "{record}",
            description: "Completed records evicted from a full store before their retention ended, by reason.");
    }

    public void Evicted(int forFull, int forShare)
    {
        if (forFull > 0)
        {
            _evictions.Add(forFull, s_store, s_full);
        }

        if (forShare > 0)
        {
            _evictions.Add(forShare, s_store, s_scopeShare);
        }
    }
}
