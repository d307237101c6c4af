namespace Idempotency;

/// <summary>Names to subscribe to the library's telemetry with (OpenTelemetry <c>AddMeter</c>, <c>AddSource</c>, logging filters).</summary>
public static class IdempotencyTelemetry
{
    /// <summary>
    /// The name of the <see cref="System.Diagnostics.Metrics.Meter"/> of this package, <c>Idempotency.Core</c>: the engine's
    /// instruments (<c>idempotency.requests</c>, <c>idempotency.store.duration</c>), which every adapter emits (the ASP.NET
    /// Core middleware, <c>IdempotentExecutor</c>, gRPC), and the in-memory store's <c>idempotency.store.evictions</c>.
    /// </summary>
    /// <remarks>The mirroring instruments of Idempotency.AspNetCore are on that package's own meter, <c>Idempotency.AspNetCore</c>.</remarks>
    public const string MeterName = "Idempotency.Core";

    /// <summary>The name of the <see cref="System.Diagnostics.ActivitySource"/> that traces store calls, <c>Idempotency.Core</c> (the package's name).</summary>
    public const string ActivitySourceName = "Idempotency.Core";

    /// <summary>
    /// The logger category of the audit events: one per keyed operation, at Information, event id 30 (<c>Audit</c>),
    /// with the outcome, the operation's name (a route template), the trace id and keyed hashes of the key and of the
    /// scope. Route it to its own sink with a logging filter on this category.
    /// </summary>
    public const string AuditLogCategory = "Idempotency.Audit";
}
