using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Idempotency.AspNetCore.Mirroring;

// Event ids are stable: dashboards and alerts depend on them. Mirroring uses 101-199; add new ones, never renumber.
// Marker values and secrets are never logged; above Debug, endpoints are named by their route template, never by the
// raw path (which can hold ids).
internal sealed partial class MirrorGuardMiddleware
{
    [LoggerMessage(201, LogLevel.Debug, "Mirrored copy of {Method} {Path} ran: {MirrorClass} ({MirrorReason}), recognised by {Signal}.", EventName = "MirrorCopyExecuted")]
    private static partial void LogCopyExecuted(ILogger logger, string method, PathString path, MirrorSafetyClass mirrorClass, MirrorSafetyReason mirrorReason, MirrorCopySignal signal);

    [LoggerMessage(202, LogLevel.Information, "Mirrored copy of {Method} {RouteTemplate} suppressed with 403 (PERMISSION_DENIED for a gRPC call): {MirrorClass} ({MirrorReason}) is not mirror-safe with {MirrorData} data.", EventName = "MirrorCopySuppressed")]
    private static partial void LogCopySuppressed(ILogger logger, string method, string routeTemplate, MirrorSafetyClass mirrorClass, MirrorSafetyReason mirrorReason, MirrorDataMode mirrorData);

    [LoggerMessage(203, LogLevel.Warning, "Mirrored copy of {Method} {RouteTemplate} ran only because the guard is in report-only mode: {MirrorClass} ({MirrorReason}) is not mirror-safe with {MirrorData} data.", EventName = "MirrorCopyWouldBeSuppressed")]
    private static partial void LogCopyWouldBeSuppressed(ILogger logger, string method, string routeTemplate, MirrorSafetyClass mirrorClass, MirrorSafetyReason mirrorReason, MirrorDataMode mirrorData);

    [LoggerMessage(204, LogLevel.Debug, "Removed the {HeaderName} copy marker from a request to {Path}: this instance is a primary and never trusts it.", EventName = "MirrorMarkerStripped")]
    private static partial void LogMarkerStripped(ILogger logger, string headerName, PathString path);

    [LoggerMessage(205, LogLevel.Debug, "Ignored the {HeaderName} copy marker on a request to {Path}: this instance is a primary and never trusts it.", EventName = "MirrorMarkerIgnored")]
    private static partial void LogMarkerIgnored(ILogger logger, string headerName, PathString path);

    [LoggerMessage(206, LogLevel.Warning, "Refused {Method} {RouteTemplate} with 403 (PERMISSION_DENIED for a gRPC call): its {HeaderName} copy marker does not carry the configured secret. Check the proxy's marker value, or look for spoofing.", EventName = "MirrorMarkerRefused")]
    private static partial void LogMarkerRefused(ILogger logger, string headerName, string method, string routeTemplate);

    [LoggerMessage(207, LogLevel.Warning, "{Method} {RouteTemplate} carries a {HeaderName} copy marker without the configured secret; it ran as an ordinary request only because the guard is in report-only mode.", EventName = "MirrorMarkerWouldBeRefused")]
    private static partial void LogMarkerWouldBeRefused(ILogger logger, string headerName, string method, string routeTemplate);
}
