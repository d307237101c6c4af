namespace Idempotency.AspNetCore;

/// <summary>The telemetry names of this package (OpenTelemetry <c>AddMeter</c>), beside Idempotency.Core's <see cref="IdempotencyTelemetry"/>.</summary>
public static class IdempotencyAspNetCoreTelemetry
{
    /// <summary>
    /// The name of this package's <see cref="System.Diagnostics.Metrics.Meter"/>, <c>Idempotency.AspNetCore</c>: the traffic
    /// mirroring instruments (<c>idempotency.mirror.copies</c>, <c>idempotency.mirror.untrusted_markers</c>,
    /// <c>idempotency.mirror.outbound_calls</c>).
    /// </summary>
    /// <remarks>
    /// The middleware's request and store instruments come from the engine, on <see cref="IdempotencyTelemetry.MeterName"/>
    /// (<c>Idempotency.Core</c>).
    /// </remarks>
    public const string MeterName = "Idempotency.AspNetCore";
}
