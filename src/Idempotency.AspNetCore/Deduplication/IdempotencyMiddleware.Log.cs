using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Idempotency.AspNetCore.Deduplication;

// Event ids are stable: dashboards and alerts depend on them. Add new ones; never renumber. The events of the claim,
// the run and the completion (3, 5-9, 13, 14, 21, 22, 25, 30, 31, 40) moved with that logic to IdempotencyEngine,
// with the same ids, in the Idempotency.IdempotencyEngine category; their numbers are not reused here.
// Above Debug, no event carries a raw key, a path, a scope (user id) or a store exception's message with the storage
// key in it: they carry the keyed hash of the key ({KeyHash}, see IdempotencyAuditHasher) and a route template.
// Raw keys and paths appear at Debug only. Bodies and owner tokens are never logged.
internal sealed partial class IdempotencyMiddleware
{
    [LoggerMessage(1, LogLevel.Debug, "Request to {Path} refused: the endpoint requires an idempotency key and none was sent.", EventName = "KeyMissing")]
    private static partial void LogKeyMissing(ILogger logger, PathString path);

    [LoggerMessage(2, LogLevel.Debug, "Request to {Path} refused: its idempotency key header is invalid ({Reason}).", EventName = "KeyRejected")]
    private static partial void LogKeyRejected(ILogger logger, PathString path, string reason);

    [LoggerMessage(4, LogLevel.Debug, "Replayed the stored {StatusCode} response for idempotency key {IdempotencyKey}.", EventName = "Replayed")]
    private static partial void LogReplayed(ILogger logger, string idempotencyKey, int statusCode);

    [LoggerMessage(10, LogLevel.Warning, "The idempotency store is unavailable; the request with key hash {KeyHash} was refused with 503 and did not run. {Fault}", EventName = "StoreUnavailable")]
    private static partial void LogStoreUnavailable(ILogger logger, string keyHash, string fault);

    [LoggerMessage(11, LogLevel.Warning, "The idempotency store is full; the request with key hash {KeyHash} was refused with 503 and did not run. {Reason}", EventName = "StoreFull")]
    private static partial void LogStoreFull(ILogger logger, string keyHash, string reason);

    [LoggerMessage(12, LogLevel.Warning, "The idempotency store is unavailable; the request with key hash {KeyHash} runs unprotected, as AllowUnprotectedExecutionWhenStoreUnavailable allows. {Fault}", EventName = "RunningUnprotected")]
    private static partial void LogRunningUnprotected(ILogger logger, string keyHash, string fault);

    [LoggerMessage(15, LogLevel.Information, "The response for the key with hash {KeyHash} has {BodyLength} bytes, over MaxStoredBodySize ({MaxStoredBodySize}): the key completes, but retries get 410.", EventName = "ResponseTooLargeToStore")]
    private static partial void LogResponseTooLargeToStore(ILogger logger, long bodyLength, int maxStoredBodySize, string keyHash);

    [LoggerMessage(16, LogLevel.Debug, "Request with idempotency key {IdempotencyKey} already completed with {StatusCode}, but its response was too large to store: answered 410.", EventName = "ReplayTooLarge")]
    private static partial void LogReplayTooLarge(ILogger logger, string idempotencyKey, int statusCode);

    [LoggerMessage(17, LogLevel.Error, "The stored response for the key with hash {KeyHash} cannot be read; answered 503.", EventName = "StoredResponseUnreadable")]
    private static partial void LogStoredResponseUnreadable(ILogger logger, Exception exception, string keyHash);

    [LoggerMessage(18, LogLevel.Debug, "Request to {Path} refused: its body could not be read ({ExceptionType}); nothing was claimed.", EventName = "RequestBodyUnreadable")]
    private static partial void LogBodyUnreadable(ILogger logger, PathString path, string exceptionType);

    [LoggerMessage(19, LogLevel.Error, "A keyed request to {RouteTemplate} reached the idempotency middleware before the authorization middleware evaluated its endpoint, which requires authorization: refused with 500. Call app.UseIdempotency() after app.UseAuthentication() and app.UseAuthorization().", EventName = "PipelineMisordered")]
    private static partial void LogPipelineMisordered(ILogger logger, string routeTemplate);

    [LoggerMessage(20, LogLevel.Error, "An authenticated keyed request to {RouteTemplate} has no idempotency scope: refused with 500. The user carries none of the claims {ScopeSource} with a value. Add the claim type your authentication issues (ClaimTypes.Name for many API-key and cookie schemes) to IdempotencyOptions.ScopeClaimTypes, or return a per-user value from IdempotencyOptions.ScopeResolver.", EventName = "ScopeUnresolved")]
    private static partial void LogScopeUnresolved(ILogger logger, string routeTemplate, string scopeSource);

    [LoggerMessage(23, LogLevel.Warning, "Request with key hash {KeyHash} produced a response of {BodyLength} bytes, over MaxStoredBodySize ({MaxStoredBodySize}), while its response was held for its transaction's commit: the transaction was rolled back and the client got 500 response-too-large-to-commit.", EventName = "HeldResponseTooLarge")]
    private static partial void LogHeldResponseTooLarge(ILogger logger, long bodyLength, int maxStoredBodySize, string keyHash);

    [LoggerMessage(24, LogLevel.Debug, "Replayed 'outcome unknown' for idempotency key {IdempotencyKey}: the original failed after its {StatusCode} response had started.", EventName = "ReplayedOutcomeUnknown")]
    private static partial void LogReplayedOutcomeUnknown(ILogger logger, string idempotencyKey, int statusCode);

    [LoggerMessage(26, LogLevel.Debug, "The request with key hash {KeyHash} was refused with 429: its scope holds its whole share of the idempotency store; retry after {RetryAfter}.", EventName = "ScopeQuotaExceeded")]
    private static partial void LogScopeQuotaExceeded(ILogger logger, string keyHash, TimeSpan retryAfter);

}
