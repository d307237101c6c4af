namespace Idempotency.AspNetCore;

/// <summary>Names to subscribe to the middleware's telemetry with (OpenTelemetry <c>AddMeter</c>, <c>AddSource</c>).</summary>
public static class IdempotencyTelemetry
{
    /// <summary>The name of the <see cref="System.Diagnostics.Metrics.Meter"/> with the <c>idempotency.*</c> instruments.</summary>
    public const string MeterName = "Idempotency";

    /// <summary>The name of the <see cref="System.Diagnostics.ActivitySource"/> that traces store calls.</summary>
    public const string ActivitySourceName = "Idempotency";
}
