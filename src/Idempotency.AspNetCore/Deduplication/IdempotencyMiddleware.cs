using System.Diagnostics;
using Idempotency.AspNetCore.Mirroring;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Idempotency.AspNetCore.Deduplication;

/// <summary>
/// Runs each keyed request to an opted-in endpoint once, stores its response, and replays that response to every
/// retry with the same key. Endpoints without idempotency metadata pass straight through.
/// </summary>
internal sealed partial class IdempotencyMiddleware
{
    /// <summary>The tag that carries the outcome on the request's <c>http.server.request.duration</c> and activity.</summary>
    internal const string OutcomeTagName = "idempotency.outcome";

    private readonly RequestDelegate _next;
    private readonly IdempotencyOptions _options;
    private readonly IIdempotencyStore _store;
    private readonly IdempotencyEngine _engine;
    private readonly IdempotencyProblemWriter _problems;
    private readonly ILogger _logger;
    private readonly ILogger _auditLogger;

    public IdempotencyMiddleware(
        RequestDelegate next,
        IOptions<IdempotencyOptions> options,
        IIdempotencyStore store,
        IdempotencyEngine engine,
        IdempotencyProblemWriter problems,
        ILoggerFactory loggerFactory,
        IServiceProvider services)
    {
        _next = next;
        _options = options.Value;
        _store = store;
        _engine = engine;
        _problems = problems;
        _logger = loggerFactory.CreateLogger<IdempotencyMiddleware>();
        _auditLogger = loggerFactory.CreateLogger(IdempotencyTelemetry.AuditLogCategory); // only asked whether it is on
        _authorizationPoliciesRegistered = AuthorizationPoliciesRegistered(services);
        (_defaultPolicy, _policies) = BuildPolicies(_options);
    }

    public Task InvokeAsync(HttpContext context)
    {
        // The common case, an endpoint without idempotency, costs one metadata lookup and no async state machine.
        var endpoint = context.GetEndpoint();
        var metadata = endpoint is null ? null : IdempotencyDeclarations.Nearest(endpoint.Metadata);
        if (metadata is null || metadata.Requirement == IdempotencyRequirement.Disabled || HttpMethodSemantics.IsSafe(context.Request.Method))
        {
            return _next(context);
        }

        return InvokeCoreAsync(context, endpoint!, metadata.Requirement, PolicyFor(endpoint!, metadata.PolicyName));
    }

    private async Task InvokeCoreAsync(HttpContext context, Endpoint endpoint, IdempotencyRequirement requirement, IdempotencyEndpointPolicy policy)
    {
        var headerValues = context.Request.Headers[_options.HeaderName];
        if (headerValues.Count == 0)
        {
            if (requirement == IdempotencyRequirement.Optional)
            {
                await _next(context);
                return;
            }

            LogKeyMissing(_logger, context.Request.Path);
            Record(context, null, IdempotencyOutcome.Rejected);
            await _problems.KeyMissingAsync(context, _options.HeaderName);
            return;
        }

        if (headerValues.Count > 1)
        {
            LogKeyRejected(_logger, context.Request.Path, "repeated");
            Record(context, null, IdempotencyOutcome.Rejected);
            await _problems.KeyRepeatedAsync(context, _options.HeaderName);
            return;
        }

        var parseStatus = IdempotencyKeyParser.TryParse(headerValues[0], _options.StrictKeyParsing, _options.MaxKeyLength, out var key);
        if (parseStatus != IdempotencyKeyParseStatus.Valid)
        {
            LogKeyRejected(_logger, context.Request.Path, parseStatus.ToString());
            Record(context, null, IdempotencyOutcome.Rejected);
            await _problems.KeyInvalidAsync(context, _options.HeaderName, parseStatus, _options.MaxKeyLength);
            return;
        }

        var scope = await ResolveScopeAsync(context, endpoint);
        if (scope is null)
        {
            _engine.RecordOutcome(IdempotencyOutcome.Rejected, RouteTemplate(endpoint), key, null, AuditTraceId(context));
            return;
        }

        var feature = new IdempotencyFeature(key!, scope, MirroredCopyKeys.Apply(context, IdempotencyStorageKey.Create(scope, key!)));
        byte[] fingerprint;
        try
        {
            fingerprint = await ComputeFingerprintAsync(context, endpoint, policy);
        }
        catch (Exception ex) when (ex is BadHttpRequestException or IOException)
        {
            // A body that cannot be read (broken chunked framing, over the size limit, too slow) is the client's error,
            // answered as ASP.NET Core answers it without this middleware: never a 500, and nothing was claimed.
            if (!context.RequestAborted.IsCancellationRequested)
            {
                LogBodyUnreadable(_logger, context.Request.Path, ex.GetType().Name);
                Record(context, feature, IdempotencyOutcome.Rejected);
                context.Response.StatusCode = ex is BadHttpRequestException badRequest ? badRequest.StatusCode : StatusCodes.Status400BadRequest;
            }

            return;
        }

        var storeProvider = endpoint.Metadata.GetMetadata<IIdempotencyRequestStoreProvider>();
        IIdempotencyUnitOfWorkStore? unitOfWork = null;
        try
        {
            if (storeProvider is not null)
            {
                try
                {
                    unitOfWork = await storeProvider.CreateStoreAsync(context, context.RequestAborted);
                }
                catch (Exception ex) when (!context.RequestAborted.IsCancellationRequested)
                {
                    await OnStoreUnavailableAsync(context, requirement, feature, ex);
                    return;
                }
            }

            using var work = new HttpWork(this, context, endpoint, feature, policy, holdResponse: unitOfWork is not null);
            var request = new IdempotencyExecutionRequest(unitOfWork ?? _store, feature.Key, feature.Scope, feature.StorageKey, fingerprint)
            {
                LeaseDuration = policy.LeaseDuration,
                Retention = policy.Retention,
                InFlightWait = policy.InFlightWait,
                OperationName = RouteTemplate(endpoint),
                TraceId = AuditTraceId(context),
            };
            IdempotencyExecution<bool> execution;
            try
            {
                execution = await _engine.ExecuteAsync(request, work, context.RequestAborted);
            }
            finally
            {
                work.RestoreResponseBody();
            }

            await AnswerAsync(context, requirement, feature, work, execution);
        }
        finally
        {
            if (unitOfWork is not null)
            {
                await unitOfWork.DisposeAsync();
            }
        }
    }

    /// <summary>Turns how the engine ended into the HTTP answer. The handler's own response, when it ran, is already written.</summary>
    private async Task AnswerAsync(HttpContext context, IdempotencyRequirement requirement, IdempotencyFeature feature, HttpWork work, IdempotencyExecution<bool> execution)
    {
        switch (execution.Status)
        {
            case IdempotencyExecutionStatus.Executed:
                await work.SendHeldResponseAsync();
                break;
            case IdempotencyExecutionStatus.Released when work.HeldResponseTooLarge:
                // The held response was not kept past the limit, so it could neither be sent nor stored: rolled back.
                LogHeldResponseTooLarge(_logger, work.BytesWritten, work.MaxStoredBodySize, _engine.HashKey(feature.Key));
                context.Response.Clear();
                await _problems.ResponseTooLargeToCommitAsync(context, work.MaxStoredBodySize);
                break;
            case IdempotencyExecutionStatus.Released:
                await work.SendHeldResponseAsync();
                break;
            case IdempotencyExecutionStatus.OutcomeUnknown when work.HoldsResponse && work.HeldResponseTooLarge:
                // A unit of work's handler committed part of its work itself, then answered more than could be held.
                context.Response.Clear();
                await _problems.OutcomeUnknownAsync(context, StatusCodes.Status500InternalServerError);
                break;
            case IdempotencyExecutionStatus.OutcomeUnknown:
                // A unit of work's handler committed part of its work itself, then answered a status that is not stored:
                // the client gets that answer; a retry is told the outcome is unknown (not held: already passed on).
                await work.SendHeldResponseAsync();
                break;
            case IdempotencyExecutionStatus.ClaimLost or IdempotencyExecutionStatus.CompletionFailed when work.HoldsResponse:
                // Nothing was committed, the handler's work included: the client must retry.
                context.Response.Clear();
                await _problems.StoreUnavailableAsync(context, storeFull: false);
                break;
            case IdempotencyExecutionStatus.Replayed:
                await ReplayAsync(context, feature, execution.Record);
                break;
            case IdempotencyExecutionStatus.RecordUnreadable:
                await RefuseUnreadableRecordAsync(context, feature, execution.Fault!);
                break;
            case IdempotencyExecutionStatus.InFlight:
                await _problems.RequestInFlightAsync(context, TimeSpan.FromTicks(Math.Min(execution.RetryAfter.Ticks, IdempotencyDefaults.InFlightRetryAfter.Ticks)));
                break;
            case IdempotencyExecutionStatus.FingerprintMismatch:
                await _problems.KeyReusedAsync(context, _options.HeaderName);
                break;
            case IdempotencyExecutionStatus.StoreUnavailable or IdempotencyExecutionStatus.ScopeQuotaExceeded:
                await OnStoreUnavailableAsync(context, requirement, feature, execution.Fault!);
                break;
        }
    }

    private async Task OnStoreUnavailableAsync(HttpContext context, IdempotencyRequirement requirement, IdempotencyFeature feature, Exception exception)
    {
        if (exception is IdempotencyScopeQuotaExceededException quota)
        {
            // The store is fine; this caller holds its whole share of it. Only this caller waits, and nothing runs.
            LogScopeQuotaExceeded(_logger, _engine.HashKey(feature.Key), quota.RetryAfter);
            Record(context, feature, IdempotencyOutcome.Throttled);
            await _problems.ScopeQuotaExceededAsync(context, quota.RetryAfter);
            return;
        }

        if (requirement == IdempotencyRequirement.Optional && _options.AllowUnprotectedExecutionWhenStoreUnavailable)
        {
            LogRunningUnprotected(_logger, _engine.HashKey(feature.Key), StoreFaultDescription.Describe(exception, feature.StorageKey));
            Record(context, feature, IdempotencyOutcome.Unprotected);
            await _next(context);
            return;
        }

        var storeFull = exception is IdempotencyStoreCapacityExceededException;
        if (storeFull)
        {
            LogStoreFull(_logger, _engine.HashKey(feature.Key), exception.Message);
        }
        else
        {
            LogStoreUnavailable(_logger, _engine.HashKey(feature.Key), StoreFaultDescription.Describe(exception, feature.StorageKey));
        }

        Record(context, feature, IdempotencyOutcome.StoreUnavailable);
        await _problems.StoreUnavailableAsync(context, storeFull);
    }

    /// <summary>Counts the request's outcome and writes its audit event (the engine's, with the route template and hashes).</summary>
    private void Record(HttpContext context, IdempotencyFeature? feature, string outcome)
    {
        _engine.RecordOutcome(outcome, RouteTemplate(context.GetEndpoint()), feature?.Key, feature?.Scope, AuditTraceId(context));
        TagRequest(context, outcome);
    }

    /// <summary>
    /// The trace id an audit event falls back to: the request's <see cref="HttpContext.TraceIdentifier"/> when there is no
    /// current activity and the engine writes audit events (at Information), otherwise <see langword="null"/> (the event
    /// carries the activity's trace id, or is not written). Kestrel builds the identifier, a new string, the first time
    /// it is read: not for nothing.
    /// </summary>
    private string? AuditTraceId(HttpContext context) =>
        Activity.Current is null && _auditLogger.IsEnabled(LogLevel.Information) ? context.TraceIdentifier : null;

    /// <summary>
    /// Puts the outcome on the request's own telemetry, so that any OpenTelemetry backend tells a replay from an
    /// execution: the <c>idempotency.outcome</c> tag of ASP.NET Core's <c>http.server.request.duration</c> and of the
    /// request's activity.
    /// </summary>
    private static void TagRequest(HttpContext context, string outcome)
    {
        FeatureAccess.Get<IHttpMetricsTagsFeature>(context.Features)?.Tags.Add(new(OutcomeTagName, outcome));
        FeatureAccess.Get<IHttpActivityFeature>(context.Features)?.Activity.SetTag(OutcomeTagName, outcome);
    }

    // What logs name an endpoint by: its route pattern (never the raw path, which can hold ids).
    private static string RouteTemplate(Endpoint? endpoint) => endpoint is null ? string.Empty : RoutePattern(endpoint) ?? string.Empty;
}
