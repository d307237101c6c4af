using System.Diagnostics.Metrics;

namespace Idempotency.AspNetCore.Mirroring;

/// <summary>The mirroring instruments, created from <see cref="IMeterFactory"/> on this package's meter (<see cref="IdempotencyAspNetCoreTelemetry.MeterName"/>).</summary>
internal sealed class MirrorMetrics
{
    public const string CopiesInstrument = "idempotency.mirror.copies";
    public const string UntrustedMarkersInstrument = "idempotency.mirror.untrusted_markers";
    public const string OutboundCallsInstrument = "idempotency.mirror.outbound_calls";

    private readonly Counter<long> _copies;
    private readonly Counter<long> _untrustedMarkers;
    private readonly Counter<long> _outboundCalls;

    public MirrorMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(IdempotencyAspNetCoreTelemetry.MeterName);
        _copies = meter.CreateCounter<long>(
            CopiesInstrument,
            unit: "{request}",
            description: "Mirrored copies received by a canary, by class and by what the guard did (executed, suppressed, would_suppress).");
        _untrustedMarkers = meter.CreateCounter<long>(
            UntrustedMarkersInstrument,
            unit: "{request}",
            description: "Requests with a copy marker that was not trusted: ignored or stripped on a primary, refused on a canary for a wrong secret.");
        _outboundCalls = meter.CreateCounter<long>(
            OutboundCallsInstrument,
            unit: "{request}",
            description: "Outgoing HttpClient calls made while handling a mirrored copy, by action (marked, blocked, would_block).");
    }

    public void Copy(MirrorSafetyClass @class, MirrorGuardAction action) => _copies.Add(
        1,
        new KeyValuePair<string, object?>("class", ClassTag(@class)),
        new KeyValuePair<string, object?>("action", ActionTag(action)));

    public void UntrustedMarker(string action) => _untrustedMarkers.Add(1, new KeyValuePair<string, object?>("action", action));

    public void OutboundCall(string action) => _outboundCalls.Add(1, new KeyValuePair<string, object?>("action", action));

    internal static string ClassTag(MirrorSafetyClass @class) => @class switch
    {
        MirrorSafetyClass.Safe => "safe",
        MirrorSafetyClass.Idempotent => "idempotent",
        MirrorSafetyClass.Deduplicated => "deduplicated",
        MirrorSafetyClass.Conditional => "conditional",
        _ => "unsafe",
    };

    internal static string ActionTag(MirrorGuardAction action) => action switch
    {
        MirrorGuardAction.Executed => "executed",
        MirrorGuardAction.Suppressed => "suppressed",
        _ => "would_suppress",
    };
}

/// <summary>The values of the <c>action</c> tag of <c>idempotency.mirror.untrusted_markers</c> and <c>idempotency.mirror.outbound_calls</c>.</summary>
internal static class MirrorMetricActions
{
    /// <summary>A primary removed a marker header before the application saw it.</summary>
    public const string Stripped = "stripped";

    /// <summary>A primary left a marker header in place (StripMarkerOnPrimary off) and ignored it.</summary>
    public const string Ignored = "ignored";

    /// <summary>A canary refused a request whose marker did not carry the secret.</summary>
    public const string Refused = "refused";

    /// <summary>A report-only canary would have refused the request; it ran as an ordinary request.</summary>
    public const string WouldRefuse = "would_refuse";

    /// <summary>An outgoing call during a copy was sent with the marker.</summary>
    public const string Marked = "marked";

    /// <summary>An unsafe outgoing call during a copy was blocked.</summary>
    public const string Blocked = "blocked";

    /// <summary>A report-only canary would have blocked an unsafe outgoing call; it was sent with the marker.</summary>
    public const string WouldBlock = "would_block";
}
