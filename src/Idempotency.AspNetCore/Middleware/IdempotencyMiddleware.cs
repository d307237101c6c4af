using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Idempotency.AspNetCore;

/// <summary>
/// Runs each keyed request to an opted-in endpoint once, stores its response, and replays that response to every
/// retry with the same key. Endpoints without idempotency metadata pass straight through.
/// </summary>
internal sealed partial class IdempotencyMiddleware
{
    private static readonly ActivitySource s_activitySource = new(IdempotencyTelemetry.ActivitySourceName);
    private static readonly ConcurrentDictionary<Type, string> s_storeNames = new();
    private static readonly TimeSpan s_firstWaitPoll = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan s_maxWaitPoll = TimeSpan.FromMilliseconds(500);

    // Every anonymous caller shares this scope: endpoints that allow anonymous callers accept that, documented.
    private const string AnonymousScope = "";

    // ASP.NET Core's AuthorizationMiddleware marks each request it has evaluated with this item; EndpointMiddleware
    // reads the same key to refuse endpoints with authorization metadata that no authorization middleware saw.
    private const string AuthorizationMiddlewareInvokedKey = "__AuthorizationMiddlewareWithEndpointInvoked";

    private readonly RequestDelegate _next;
    private readonly IdempotencyOptions _options;
    private readonly IIdempotencyStore _store;
    private readonly IdempotencyProblemWriter _problems;
    private readonly IdempotencyMetrics _metrics;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly ILogger _auditLogger;
    private readonly IdempotencyAuditHasher _hasher;
    private readonly Func<IdempotencyOutcomeArguments, bool> _shouldStoreResponse;

    public IdempotencyMiddleware(
        RequestDelegate next,
        IOptions<IdempotencyOptions> options,
        IIdempotencyStore store,
        IdempotencyProblemWriter problems,
        IdempotencyMetrics metrics,
        TimeProvider timeProvider,
        ILoggerFactory loggerFactory)
    {
        _next = next;
        _options = options.Value;
        _store = store;
        _problems = problems;
        _metrics = metrics;
        _timeProvider = timeProvider;
        _logger = loggerFactory.CreateLogger<IdempotencyMiddleware>();
        _auditLogger = loggerFactory.CreateLogger(IdempotencyTelemetry.AuditLogCategory);
        _hasher = new IdempotencyAuditHasher(_options.AuditHashSecret);
        if (_hasher.IsRandomSecret)
        {
            LogAuditSecretRandom(_auditLogger);
        }

        _shouldStoreResponse = _options.ShouldStoreResponse ?? (static args => !IdempotencyOptions.IsTransientStatus(args.StatusCode));
    }

    public Task InvokeAsync(HttpContext context)
    {
        // The common case, an endpoint without idempotency, costs one metadata lookup and no async state machine.
        var endpoint = context.GetEndpoint();
        var metadata = endpoint?.Metadata.GetMetadata<IIdempotencyMetadata>();
        if (metadata is null || metadata.Requirement == IdempotencyRequirement.Disabled || HttpMethodSemantics.IsSafe(context.Request.Method))
        {
            return _next(context);
        }

        return InvokeCoreAsync(context, endpoint!, metadata.Requirement);
    }

    private async Task InvokeCoreAsync(HttpContext context, Endpoint endpoint, IdempotencyRequirement requirement)
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
            Record(context, null, IdempotencyOutcome.Rejected, key);
            return;
        }

        var feature = new IdempotencyFeature(key!, scope, MirroredCopyKeys.Apply(context, IdempotencyStorageKey.Create(scope, key!)));
        byte[] fingerprint;
        try
        {
            fingerprint = await ComputeFingerprintAsync(context, endpoint);
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
        IIdempotencyUnitOfWorkStore? requestStore = null;
        try
        {
            IIdempotencyStore store;
            IdempotencyClaimResult claim;
            var ownerToken = OwnerTokens.Create();
            try
            {
                store = storeProvider is null ? _store : requestStore = await storeProvider.CreateStoreAsync(context, context.RequestAborted);
                claim = await ClaimAsync(store, new IdempotencyClaimRequest(feature.StorageKey, fingerprint, ownerToken, _options.LeaseDuration, feature.Scope), context.RequestAborted);
                if (claim.Status == ClaimStatus.FingerprintMismatch)
                {
                    claim = await ClaimWithV1FingerprintAsync(context, endpoint, store, feature, ownerToken);
                }
            }
            catch (Exception ex) when (!context.RequestAborted.IsCancellationRequested)
            {
                await OnStoreUnavailableAsync(context, requirement, feature, ex);
                return;
            }

            switch (claim.Status)
            {
                case ClaimStatus.Claimed:
                    await ExecuteAsync(context, store, feature, ownerToken, holdResponse: requestStore is not null);
                    break;
                case ClaimStatus.Completed:
                    await ReplayAsync(context, feature, claim.Payload);
                    break;
                case ClaimStatus.InFlight:
                    LogInFlight(_logger, key!);
                    Record(context, feature, IdempotencyOutcome.Conflict);
                    await _problems.RequestInFlightAsync(context, TimeSpan.FromTicks(Math.Min(claim.LeaseRemaining.Ticks, IdempotencyDefaults.InFlightRetryAfter.Ticks)));
                    break;
                default:
                    LogFingerprintMismatch(_logger, key!);
                    Record(context, feature, IdempotencyOutcome.Mismatch);
                    await _problems.KeyReusedAsync(context, _options.HeaderName);
                    break;
            }
        }
        finally
        {
            if (requestStore is not null)
            {
                await requestStore.DisposeAsync();
            }
        }
    }

    private async Task OnStoreUnavailableAsync(HttpContext context, IdempotencyRequirement requirement, IdempotencyFeature feature, Exception exception)
    {
        if (exception is IdempotencyScopeQuotaExceededException quota)
        {
            // The store is fine; this caller holds its whole share of it. Only this caller waits, and nothing runs.
            LogScopeQuotaExceeded(_logger, KeyHash(feature), quota.RetryAfter);
            Record(context, feature, IdempotencyOutcome.Throttled);
            await _problems.ScopeQuotaExceededAsync(context, quota.RetryAfter);
            return;
        }

        LogStoreFaultDetail(_logger, exception, feature.Key);
        if (requirement == IdempotencyRequirement.Optional && _options.AllowUnprotectedExecutionWhenStoreUnavailable)
        {
            LogRunningUnprotected(_logger, KeyHash(feature), StoreFaultDescription.Describe(exception, feature.StorageKey));
            Record(context, feature, IdempotencyOutcome.Unprotected);
            await _next(context);
            return;
        }

        var storeFull = exception is IdempotencyStoreCapacityExceededException;
        if (storeFull)
        {
            LogStoreFull(_logger, KeyHash(feature), exception.Message);
        }
        else
        {
            LogStoreUnavailable(_logger, KeyHash(feature), StoreFaultDescription.Describe(exception, feature.StorageKey));
        }

        Record(context, feature, IdempotencyOutcome.StoreUnavailable);
        await _problems.StoreUnavailableAsync(context, storeFull);
    }

    /// <summary>
    /// Counts the request's outcome and writes its audit event: one per keyed request, at Information, in the
    /// <see cref="IdempotencyTelemetry.AuditLogCategory"/> category, with keyed hashes instead of the key and scope.
    /// </summary>
    private void Record(HttpContext context, IdempotencyFeature? feature, string outcome, string? keyWithoutScope = null)
    {
        _metrics.Request(outcome);
        if (_auditLogger.IsEnabled(LogLevel.Information))
        {
            var endpoint = context.GetEndpoint();
            LogAudit(
                _auditLogger,
                outcome,
                endpoint is null ? string.Empty : RouteTemplate(endpoint),
                Activity.Current?.TraceId.ToHexString() ?? context.TraceIdentifier,
                _hasher.HashKey(feature?.Key ?? keyWithoutScope),
                _hasher.HashScope(feature?.Scope));
        }
    }

    // Only for log events above Debug, which are rare: the audit event hashes on its own, and only when enabled.
    private string KeyHash(IdempotencyFeature feature) => _hasher.HashKey(feature.Key);

    private async ValueTask<IdempotencyClaimResult> ClaimAsync(IIdempotencyStore store, IdempotencyClaimRequest request, CancellationToken cancellationToken)
    {
        var claim = await CallStoreAsync(store, "claim", static (s, r, ct) => s.ClaimAsync(r, ct), request, cancellationToken);
        if (claim.Status != ClaimStatus.InFlight || _options.InFlightDuplicates != InFlightDuplicateHandling.Wait)
        {
            return claim;
        }

        // Wait for the original with a backed-off poll: store-agnostic, and bounded by the configured timeout.
        var deadline = _timeProvider.GetUtcNow() + _options.InFlightWaitTimeout;
        var poll = s_firstWaitPoll;
        while (claim.Status == ClaimStatus.InFlight)
        {
            var remaining = deadline - _timeProvider.GetUtcNow();
            if (remaining <= TimeSpan.Zero)
            {
                break;
            }

            await Task.Delay(Min(poll, remaining), _timeProvider, cancellationToken);
            poll = Min(poll * 2, s_maxWaitPoll);
            claim = await CallStoreAsync(store, "claim", static (s, r, ct) => s.ClaimAsync(r, ct), request, cancellationToken);
        }

        return claim;
    }

    private async ValueTask<TResult> CallStoreAsync<TArgument, TResult>(
        IIdempotencyStore store,
        string operation,
        Func<IIdempotencyStore, TArgument, CancellationToken, ValueTask<TResult>> call,
        TArgument argument,
        CancellationToken cancellationToken)
    {
        using var activity = s_activitySource.StartActivity("idempotency.store." + operation, ActivityKind.Client);
        var start = Stopwatch.GetTimestamp();
        var succeeded = false;
        try
        {
            var result = await call(store, argument, cancellationToken);
            succeeded = true;
            return result;
        }
        finally
        {
            _metrics.StoreOperation(operation, StoreName(store), succeeded, start, Stopwatch.GetTimestamp());
            if (!succeeded)
            {
                activity?.SetStatus(ActivityStatusCode.Error);
            }
        }
    }

    /// <summary>
    /// The scope the key belongs to, or <see langword="null"/> when the request was refused (the problem is written):
    /// an authenticated caller without a scope, or a pipeline where authorization has not run yet. Both would put the
    /// caller in a scope shared with others, where a caller who learns another's key receives that caller's response.
    /// </summary>
    private async ValueTask<string?> ResolveScopeAsync(HttpContext context, Endpoint endpoint)
    {
        if (RequiresAuthorization(endpoint) && !context.Items.ContainsKey(AuthorizationMiddlewareInvokedKey))
        {
            LogPipelineMisordered(_logger, RouteTemplate(endpoint));
            await _problems.PipelineMisorderedAsync(context);
            return null;
        }

        var user = context.User;
        var authenticated = IsAuthenticated(user);
        var scope = _options.ScopeResolver is { } resolver
            ? await resolver(new IdempotencyScopeArguments(context))
            : authenticated ? DefaultScope(user) : null;
        if (!string.IsNullOrEmpty(scope))
        {
            return scope;
        }

        if (authenticated)
        {
            LogScopeUnresolved(_logger, RouteTemplate(endpoint), _options.ScopeResolver is null ? string.Join(", ", _options.ScopeClaimTypes) : "ScopeResolver");
            await _problems.ScopeUnresolvedAsync(context);
            return null;
        }

        return AnonymousScope;
    }

    /// <summary>The first configured claim the user carries, qualified by its issuer: <c>{issuer length}:{issuer}:{value}</c>.</summary>
    private string? DefaultScope(ClaimsPrincipal user)
    {
        foreach (var claimType in _options.ScopeClaimTypes)
        {
            if (user.FindFirst(claimType) is { Value.Length: > 0 } claim)
            {
                return string.Create(CultureInfo.InvariantCulture, $"{claim.Issuer.Length}:{claim.Issuer}:{claim.Value}");
            }
        }

        return null;
    }

    private static bool IsAuthenticated(ClaimsPrincipal user)
    {
        foreach (var identity in user.Identities)
        {
            if (identity.IsAuthenticated)
            {
                return true;
            }
        }

        return false;
    }

    private static bool RequiresAuthorization(Endpoint endpoint) =>
        endpoint.Metadata.GetMetadata<IAllowAnonymous>() is null
        && (endpoint.Metadata.GetMetadata<IAuthorizeData>() is not null || endpoint.Metadata.GetMetadata<AuthorizationPolicy>() is not null);

    // What logs name an endpoint by: its route pattern (never the raw path, which can hold ids).
    private static string RouteTemplate(Endpoint endpoint) => RoutePattern(endpoint) ?? string.Empty;

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static string StoreName(IIdempotencyStore store) => s_storeNames.GetOrAdd(store.GetType(), static type =>
    {
        var name = type.Name;
        foreach (var noise in (string[])["Idempotency", "Store", "Request"])
        {
            name = name.Replace(noise, string.Empty, StringComparison.Ordinal);
        }

        return name.Length == 0 ? type.Name.ToLowerInvariant() : name.ToLowerInvariant();
    });
}
