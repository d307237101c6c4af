using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Idempotency.AspNetCore.Deduplication;

// Event ids are stable: dashboards and alerts depend on them. Add new ones; never renumber.
// Above Debug, no event carries a raw key, a path, a scope (user id) or a store exception's message with the storage
// key in it: they carry the keyed hash of the key ({KeyHash}, see IdempotencyAuditHasher) and a route template.
// Raw keys and paths appear at Debug only. Bodies and owner tokens are never logged.
internal sealed partial class IdempotencyMiddleware
{
    [LoggerMessage(1, LogLevel.Debug, "Request to {Path} refused: the endpoint requires an idempotency key and none was sent.", EventName = "KeyMissing")]
    private static partial void LogKeyMissing(ILogger logger, PathString path);

    [LoggerMessage(2, LogLevel.Debug, "Request to {Path} refused: its idempotency key header is invalid ({Reason}).", EventName = "KeyRejected")]
    private static partial void LogKeyRejected(ILogger logger, PathString path, string reason);

    [LoggerMessage(3, LogLevel.Debug, "Request with idempotency key {IdempotencyKey} ran and its {StatusCode} response was stored.", EventName = "Executed")]
    private static partial void LogExecuted(ILogger logger, int statusCode, string idempotencyKey);

    [LoggerMessage(4, LogLevel.Debug, "Replayed the stored {StatusCode} response for idempotency key {IdempotencyKey}.", EventName = "Replayed")]
    private static partial void LogReplayed(ILogger logger, string idempotencyKey, int statusCode);

    [LoggerMessage(5, LogLevel.Debug, "Request with idempotency key {IdempotencyKey} refused with 409: the original request is still in flight.", EventName = "InFlight")]
    private static partial void LogInFlight(ILogger logger, string idempotencyKey);

    [LoggerMessage(6, LogLevel.Debug, "Request with idempotency key {IdempotencyKey} refused with 422: the key belongs to a different request.", EventName = "FingerprintMismatch")]
    private static partial void LogFingerprintMismatch(ILogger logger, string idempotencyKey);

    [LoggerMessage(7, LogLevel.Debug, "Request with idempotency key {IdempotencyKey} answered {StatusCode}, a transient outcome: the key was released so a retry can run.", EventName = "ReleasedAfterTransientStatus")]
    private static partial void LogReleasedAfterTransientStatus(ILogger logger, int statusCode, string idempotencyKey);

    [LoggerMessage(8, LogLevel.Debug, "Request with idempotency key {IdempotencyKey} threw {ExceptionType}: the key was released so a retry can run.", EventName = "ReleasedAfterException")]
    private static partial void LogReleasedAfterException(ILogger logger, string exceptionType, string idempotencyKey);

    [LoggerMessage(9, LogLevel.Warning, "Request with key hash {KeyHash} ran, but its claim was lost before it completed (lease {LeaseDuration} and the store's grace period ended and another request took the key): its response was not stored. Raise IdempotencyOptions.LeaseDuration above the slowest handler.", EventName = "ClaimLost")]
    private static partial void LogClaimLost(ILogger logger, string keyHash, TimeSpan leaseDuration);

    [LoggerMessage(10, LogLevel.Warning, "The idempotency store is unavailable; the request with key hash {KeyHash} was refused with 503 and did not run. {Fault}", EventName = "StoreUnavailable")]
    private static partial void LogStoreUnavailable(ILogger logger, string keyHash, string fault);

    [LoggerMessage(11, LogLevel.Warning, "The idempotency store is full; the request with key hash {KeyHash} was refused with 503 and did not run. {Reason}", EventName = "StoreFull")]
    private static partial void LogStoreFull(ILogger logger, string keyHash, string reason);

    [LoggerMessage(12, LogLevel.Warning, "The idempotency store is unavailable; the request with key hash {KeyHash} runs unprotected, as AllowUnprotectedExecutionWhenStoreUnavailable allows. {Fault}", EventName = "RunningUnprotected")]
    private static partial void LogRunningUnprotected(ILogger logger, string keyHash, string fault);

    [LoggerMessage(13, LogLevel.Warning, "Request with key hash {KeyHash} ran, but its response could not be stored. A retry gets 409 until the lease ends, then runs again. {Fault}", EventName = "CompleteFailed")]
    private static partial void LogCompleteFailed(ILogger logger, string keyHash, string fault);

    [LoggerMessage(14, LogLevel.Warning, "Could not release the claim on the key with hash {KeyHash}; retries get 409 until its lease ({LeaseDuration}) ends. {Fault}", EventName = "ReleaseFailed")]
    private static partial void LogReleaseFailed(ILogger logger, string keyHash, string fault, TimeSpan leaseDuration);

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

    [LoggerMessage(21, LogLevel.Warning, "Request with key hash {KeyHash} threw {ExceptionType} after its response had started: its effect is presumed applied, so the key completed as 'outcome unknown' and retries get 500 outcome-unknown instead of running it again.", EventName = "OutcomeUnknown")]
    private static partial void LogOutcomeUnknown(ILogger logger, string exceptionType, string keyHash);

    [LoggerMessage(22, LogLevel.Error, "The outcome of the request with key hash {KeyHash} could not be recorded (IdempotencyOptions.ShouldStoreResponse or the response encoding threw): the key completed as 'outcome unknown', or, when the response was held for a commit, was rolled back.", EventName = "OutcomeNotRecordable")]
    private static partial void LogOutcomeNotRecordable(ILogger logger, Exception exception, string keyHash);

    [LoggerMessage(23, LogLevel.Warning, "Request with key hash {KeyHash} produced a response of {BodyLength} bytes, over MaxStoredBodySize ({MaxStoredBodySize}), while its response was held for its transaction's commit: the transaction was rolled back and the client got 500 response-too-large-to-commit.", EventName = "HeldResponseTooLarge")]
    private static partial void LogHeldResponseTooLarge(ILogger logger, long bodyLength, int maxStoredBodySize, string keyHash);

    [LoggerMessage(24, LogLevel.Debug, "Replayed 'outcome unknown' for idempotency key {IdempotencyKey}: the original failed after its {StatusCode} response had started.", EventName = "ReplayedOutcomeUnknown")]
    private static partial void LogReplayedOutcomeUnknown(ILogger logger, string idempotencyKey, int statusCode);

    [LoggerMessage(25, LogLevel.Debug, "The idempotency store failed for idempotency key {IdempotencyKey}.", EventName = "StoreFaultDetail")]
    private static partial void LogStoreFaultDetail(ILogger logger, Exception exception, string idempotencyKey);

    [LoggerMessage(26, LogLevel.Debug, "The request with key hash {KeyHash} was refused with 429: its scope holds its whole share of the idempotency store; retry after {RetryAfter}.", EventName = "ScopeQuotaExceeded")]
    private static partial void LogScopeQuotaExceeded(ILogger logger, string keyHash, TimeSpan retryAfter);

    [LoggerMessage(30, LogLevel.Information, "Idempotency {Outcome} on {RouteTemplate}; trace {TraceId}, key hash {KeyHash}, scope hash {ScopeHash}.", EventName = "Audit")]
    private static partial void LogAudit(ILogger logger, string outcome, string routeTemplate, string traceId, string keyHash, string scopeHash);

    [LoggerMessage(31, LogLevel.Information, "IdempotencyOptions.AuditHashSecret is not set: audit key and scope hashes use a secret made for this process, so they correlate this instance's events but cannot be recomputed from a key a client reports. Set the same secret on every instance to look requests up by key.", EventName = "AuditSecretRandom")]
    private static partial void LogAuditSecretRandom(ILogger logger);

    [LoggerMessage(40, LogLevel.Debug, "Request with idempotency key {IdempotencyKey} found a record written before fingerprint version 2, by its version 1 fingerprint ({ClaimStatus}).", EventName = "MatchedByV1Fingerprint")]
    private static partial void LogMatchedByV1Fingerprint(ILogger logger, string idempotencyKey, ClaimStatus claimStatus);
}
