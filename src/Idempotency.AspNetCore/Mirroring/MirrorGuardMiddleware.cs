using Idempotency.AspNetCore.Deduplication;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Idempotency.AspNetCore.Mirroring;

/// <summary>
/// On a primary, removes spoofed copy markers. On a canary, recognises mirrored copies, lets the mirror-safe ones run
/// (marked with <see cref="IMirroredRequestFeature"/>, so their idempotency keys are kept apart from the originals')
/// and suppresses the rest.
/// </summary>
internal sealed partial class MirrorGuardMiddleware
{
    private readonly RequestDelegate _next;
    private readonly MirroringOptions _options;
    private readonly ShadowCopyDetector _detector;
    private readonly string _idempotencyKeyHeader;
    private readonly MirrorMetrics _metrics;
    private readonly MirrorProblemWriter _problems;
    private readonly ILogger _logger;

    public MirrorGuardMiddleware(
        RequestDelegate next,
        IOptions<MirroringOptions> options,
        IOptions<IdempotencyOptions> idempotencyOptions,
        MirrorMetrics metrics,
        MirrorProblemWriter problems,
        ILogger<MirrorGuardMiddleware> logger)
    {
        _next = next;
        _options = options.Value;
        _detector = new ShadowCopyDetector(_options);
        _idempotencyKeyHeader = idempotencyOptions.Value.HeaderName;
        _metrics = metrics;
        _problems = problems;
        _logger = logger;
    }

    public Task InvokeAsync(HttpContext context)
    {
        if (_options.Role == MirrorRole.Primary)
        {
            return OnPrimary(context);
        }

        var marker = _detector.CheckMarker(context.Request);
        if (marker == ShadowCopyDetector.MarkerStatus.Valid)
        {
            return OnCopyAsync(context, MirrorCopySignal.MarkerHeader);
        }

        if (_detector.IsShadowHost(context.Request.Host.Value))
        {
            return OnCopyAsync(context, MirrorCopySignal.ShadowHost);
        }

        return marker == ShadowCopyDetector.MarkerStatus.Invalid ? OnInvalidMarkerAsync(context) : _next(context);
    }

    private Task OnPrimary(HttpContext context)
    {
        // A primary never trusts the marker: only the proxy's copies carry it legitimately, and those go to the canary.
        if (context.Request.Headers.ContainsKey(_detector.HeaderName))
        {
            if (_options.StripMarkerOnPrimary)
            {
                context.Request.Headers.Remove(_detector.HeaderName);
                LogMarkerStripped(_logger, _detector.HeaderName, context.Request.Path);
                _metrics.UntrustedMarker(MirrorMetricActions.Stripped);
            }
            else
            {
                LogMarkerIgnored(_logger, _detector.HeaderName, context.Request.Path);
                _metrics.UntrustedMarker(MirrorMetricActions.Ignored);
            }
        }

        return _next(context);
    }

    private async Task OnCopyAsync(HttpContext context, MirrorCopySignal signal)
    {
        var classification = MirrorSafetyClassifier.Classify(context, _idempotencyKeyHeader);
        var action = classification.IsMirrorable(_options.Data)
            ? MirrorGuardAction.Executed
            : _options.ReportOnly ? MirrorGuardAction.WouldSuppress : MirrorGuardAction.Suppressed;

        var feature = new MirroredRequestFeature(signal, classification, action);
        context.Features.Set<IMirroredRequestFeature>(feature);
        _metrics.Copy(classification.Class, action);

        var method = context.Request.Method;
        var path = context.Request.Path;
        switch (action)
        {
            case MirrorGuardAction.Suppressed:
                LogCopySuppressed(_logger, method, RouteTemplate(context), classification.Class, classification.Reason, _options.Data);
                await _problems.WriteSuppressedAsync(context, classification, _options.Data);
                return;
            case MirrorGuardAction.WouldSuppress:
                LogCopyWouldBeSuppressed(_logger, method, RouteTemplate(context), classification.Class, classification.Reason, _options.Data);
                break;
            default:
                LogCopyExecuted(_logger, method, path, classification.Class, classification.Reason, signal);
                break;
        }

        // Restored when this method returns: the flag never leaks into the next request on this thread.
        MirroredRequestContext.Current = feature;
        await _next(context);
    }

    private Task OnInvalidMarkerAsync(HttpContext context)
    {
        // Fail closed: a wrong secret is either spoofing or a misconfigured proxy, and in both cases running the
        // request as real traffic could apply a copy's effect against shared data.
        if (_options.ReportOnly)
        {
            LogMarkerWouldBeRefused(_logger, _detector.HeaderName, context.Request.Method, RouteTemplate(context));
            _metrics.UntrustedMarker(MirrorMetricActions.WouldRefuse);
            return _next(context);
        }

        LogMarkerRefused(_logger, _detector.HeaderName, context.Request.Method, RouteTemplate(context));
        _metrics.UntrustedMarker(MirrorMetricActions.Refused);
        return _problems.WriteMarkerInvalidAsync(context, _detector.HeaderName);
    }

    // The endpoint's route pattern, for logs above Debug: the raw path can hold ids.
    private static string RouteTemplate(HttpContext context) => context.GetEndpoint() switch
    {
        RouteEndpoint route => route.RoutePattern.RawText ?? route.DisplayName ?? string.Empty,
        { } endpoint => endpoint.DisplayName ?? string.Empty,
        null => "(no endpoint)",
    };
}
