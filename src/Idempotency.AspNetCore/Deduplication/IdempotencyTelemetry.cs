namespace Idempotency.AspNetCore.Deduplication;

/// <summary>Names to subscribe to the middleware's telemetry with (OpenTelemetry <c>AddMeter</c>, <c>AddSource</c>).</summary>
public static class IdempotencyTelemetry
{
    /// <summary>The name of the <see cref="System.Diagnostics.Metrics.Meter"/> with the <c>idempotency.*</c> instruments.</summary>
    public const string MeterName = "Idempotency";

    /// <summary>The name of the <see cref="System.Diagnostics.ActivitySource"/> that traces store calls.</summary>
    public const string ActivitySourceName = "Idempotency";

    /// <summary>
    /// The logger category of the audit events: one per keyed request, at Information, event id 30 (<c>Audit</c>),
    /// with the outcome, the route template, the trace id and keyed hashes of the key and of the scope. Route it to
    /// its own sink with a logging filter on this category.
    /// </summary>
    public const string AuditLogCategory = "Idempotency.Audit";
}
