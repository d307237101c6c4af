using Microsoft.Extensions.Logging;

namespace Idempotency.AspNetCore.Mirroring;

/// <summary>
/// While a canary handles a mirrored copy: adds the marker to outgoing calls, and blocks unsafe ones unless the client
/// allows them. Outside copies (and always on a primary) it passes calls through untouched.
/// </summary>
internal sealed partial class ShadowPropagationHandler(
    string clientName,
    ShadowPropagationOptions options,
    MirroringOptions mirroring,
    MirrorMetrics metrics,
    ILogger<ShadowPropagationHandler> logger) : DelegatingHandler
{
    private readonly string _markerValue = options.MarkerValue ?? mirroring.Secret ?? MirroringDefaults.UnsecuredMarkerValue;

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var copy = MirroredRequestContext.Current;
        if (copy is null || mirroring.Role != MirrorRole.Canary)
        {
            return base.SendAsync(request, cancellationToken);
        }

        var method = request.Method.Method;
        if (!options.AllowUnsafeMethods && !HttpMethodSemantics.IsSafe(method))
        {
            var target = Describe(request.RequestUri);
            if (!mirroring.ReportOnly)
            {
                LogBlocked(logger, method, target, clientName);
                metrics.OutboundCall(MirrorMetricActions.Blocked);
                throw new ShadowCallBlockedException(
                    $"The outgoing {method} to {target} was blocked: this request is a mirrored copy (shadow traffic) on a canary, and " +
                    $"HttpClient '{clientName}' does not allow unsafe methods during copies, so the call could apply a real effect twice. " +
                    "If the target is isolated from production, allow it with AddShadowPropagation(o => o.AllowUnsafeMethods = true) on that client; " +
                    "otherwise skip the call when HttpContext.Features.Get<IMirroredRequestFeature>() is not null.");
            }

            LogWouldBlock(logger, method, target, clientName);
            metrics.OutboundCall(MirrorMetricActions.WouldBlock);
        }
        else
        {
            metrics.OutboundCall(MirrorMetricActions.Marked);
        }

        request.Headers.Remove(mirroring.HeaderName);
        request.Headers.TryAddWithoutValidation(mirroring.HeaderName, _markerValue);
        return base.SendAsync(request, cancellationToken);
    }

    /// <summary>
    /// Names the target of a blocked call for the log and the exception: scheme, host, port and path only. The query
    /// string can carry tokens, and user info (<c>http://user:password@host/</c>) carries credentials; neither may
    /// reach logs. <see cref="Uri.GetLeftPart"/> would keep the user info, so the components are picked one by one.
    /// </summary>
    private static string Describe(Uri? uri) =>
        uri is { IsAbsoluteUri: true }
            ? uri.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped)
            : uri?.OriginalString.Split('?', '#')[0] ?? "(no URI)";

    [LoggerMessage(208, LogLevel.Warning, "Blocked an outgoing {Method} to {Target} on HttpClient '{ClientName}': it was made while handling a mirrored copy.", EventName = "MirrorOutboundBlocked")]
    private static partial void LogBlocked(ILogger logger, string method, string target, string clientName);

    [LoggerMessage(209, LogLevel.Warning, "An outgoing {Method} to {Target} on HttpClient '{ClientName}' was made while handling a mirrored copy; it was sent only because the guard is in report-only mode.", EventName = "MirrorOutboundWouldBeBlocked")]
    private static partial void LogWouldBlock(ILogger logger, string method, string target, string clientName);
}
