using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Idempotency.AspNetCore;

// Event ids are stable: dashboards and alerts depend on them. Add new ones; never renumber.
// Bodies, scopes (user ids) and owner tokens are never logged.
internal sealed partial class IdempotencyMiddleware
{
    [LoggerMessage(1, LogLevel.Debug, "Request to {Path} refused: the endpoint requires an idempotency key and none was sent.", EventName = "KeyMissing")]
    private static partial void LogKeyMissing(ILogger logger, PathString path);

    [LoggerMessage(2, LogLevel.Debug, "Request to {Path} refused: its idempotency key header is invalid ({Reason}).", EventName = "KeyRejected")]
    private static partial void LogKeyRejected(ILogger logger, PathString path, string reason);

    [LoggerMessage(3, LogLevel.Information, "Request with idempotency key {IdempotencyKey} ran and its {StatusCode} response was stored.", EventName = "Executed")]
    private static partial void LogExecuted(ILogger logger, int statusCode, string idempotencyKey);

    [LoggerMessage(4, LogLevel.Information, "Replayed the stored {StatusCode} response for idempotency key {IdempotencyKey}.", EventName = "Replayed")]
    private static partial void LogReplayed(ILogger logger, string idempotencyKey, int statusCode);

    [LoggerMessage(5, LogLevel.Information, "Request with idempotency key {IdempotencyKey} refused with 409: the original request is still in flight.", EventName = "InFlight")]
    private static partial void LogInFlight(ILogger logger, string idempotencyKey);

    [LoggerMessage(6, LogLevel.Information, "Request with idempotency key {IdempotencyKey} refused with 422: the key belongs to a different request.", EventName = "FingerprintMismatch")]
    private static partial void LogFingerprintMismatch(ILogger logger, string idempotencyKey);

    [LoggerMessage(7, LogLevel.Information, "Request with idempotency key {IdempotencyKey} answered {StatusCode}, a transient outcome: the key was released so a retry can run.", EventName = "ReleasedAfterTransientStatus")]
    private static partial void LogReleasedAfterTransientStatus(ILogger logger, int statusCode, string idempotencyKey);

    [LoggerMessage(8, LogLevel.Information, "Request with idempotency key {IdempotencyKey} threw {ExceptionType}: the key was released so a retry can run.", EventName = "ReleasedAfterException")]
    private static partial void LogReleasedAfterException(ILogger logger, string exceptionType, string idempotencyKey);

    [LoggerMessage(9, LogLevel.Warning, "Request with idempotency key {IdempotencyKey} ran, but its claim was lost before it completed (lease {LeaseDuration} expired and another request took the key): its response was not stored. Raise IdempotencyOptions.LeaseDuration above the slowest handler.", EventName = "ClaimLost")]
    private static partial void LogClaimLost(ILogger logger, string idempotencyKey, TimeSpan leaseDuration);

    [LoggerMessage(10, LogLevel.Warning, "The idempotency store is unavailable; the request with idempotency key {IdempotencyKey} was refused with 503 and did not run.", EventName = "StoreUnavailable")]
    private static partial void LogStoreUnavailable(ILogger logger, Exception exception, string idempotencyKey);

    [LoggerMessage(11, LogLevel.Warning, "The idempotency store is full; the request with idempotency key {IdempotencyKey} was refused with 503 and did not run. {Reason}", EventName = "StoreFull")]
    private static partial void LogStoreFull(ILogger logger, string idempotencyKey, string reason);

    [LoggerMessage(12, LogLevel.Warning, "The idempotency store is unavailable; the request with idempotency key {IdempotencyKey} runs unprotected, as AllowUnprotectedExecutionWhenStoreUnavailable allows.", EventName = "RunningUnprotected")]
    private static partial void LogRunningUnprotected(ILogger logger, Exception exception, string idempotencyKey);

    [LoggerMessage(13, LogLevel.Warning, "Request with idempotency key {IdempotencyKey} ran, but its response could not be stored. A retry gets 409 until the lease ends, then runs again.", EventName = "CompleteFailed")]
    private static partial void LogCompleteFailed(ILogger logger, Exception exception, string idempotencyKey);

    [LoggerMessage(14, LogLevel.Warning, "Could not release the claim on idempotency key {IdempotencyKey}; retries get 409 until its lease ({LeaseDuration}) ends.", EventName = "ReleaseFailed")]
    private static partial void LogReleaseFailed(ILogger logger, Exception exception, string idempotencyKey, TimeSpan leaseDuration);

    [LoggerMessage(15, LogLevel.Information, "The response for idempotency key {IdempotencyKey} has {BodyLength} bytes, over MaxStoredBodySize ({MaxStoredBodySize}): the key completes, but retries get 410.", EventName = "ResponseTooLargeToStore")]
    private static partial void LogResponseTooLargeToStore(ILogger logger, long bodyLength, int maxStoredBodySize, string idempotencyKey);

    [LoggerMessage(16, LogLevel.Information, "Request with idempotency key {IdempotencyKey} already completed with {StatusCode}, but its response was too large to store: answered 410.", EventName = "ReplayTooLarge")]
    private static partial void LogReplayTooLarge(ILogger logger, string idempotencyKey, int statusCode);

    [LoggerMessage(17, LogLevel.Error, "The stored response for idempotency key {IdempotencyKey} cannot be read; answered 503.", EventName = "StoredResponseUnreadable")]
    private static partial void LogStoredResponseUnreadable(ILogger logger, Exception exception, string idempotencyKey);

    [LoggerMessage(18, LogLevel.Debug, "Request to {Path} refused: its body could not be read ({ExceptionType}); nothing was claimed.", EventName = "RequestBodyUnreadable")]
    private static partial void LogBodyUnreadable(ILogger logger, PathString path, string exceptionType);

    [LoggerMessage(19, LogLevel.Error, "A keyed request to {RouteTemplate} reached the idempotency middleware before the authorization middleware evaluated its endpoint, which requires authorization: refused with 500. Call app.UseIdempotency() after app.UseAuthentication() and app.UseAuthorization().", EventName = "PipelineMisordered")]
    private static partial void LogPipelineMisordered(ILogger logger, string routeTemplate);

    [LoggerMessage(20, LogLevel.Error, "An authenticated keyed request to {RouteTemplate} has no idempotency scope: refused with 500. The user carries none of the claims {ScopeSource} with a value. Add the claim type your authentication issues (ClaimTypes.Name for many API-key and cookie schemes) to IdempotencyOptions.ScopeClaimTypes, or return a per-user value from IdempotencyOptions.ScopeResolver.", EventName = "ScopeUnresolved")]
    private static partial void LogScopeUnresolved(ILogger logger, string routeTemplate, string scopeSource);

    [LoggerMessage(21, LogLevel.Warning, "Request with idempotency key {IdempotencyKey} threw {ExceptionType} after its response had started: its effect is presumed applied, so the key completed as 'outcome unknown' and retries get 500 outcome-unknown instead of running it again.", EventName = "OutcomeUnknown")]
    private static partial void LogOutcomeUnknown(ILogger logger, string exceptionType, string idempotencyKey);

    [LoggerMessage(22, LogLevel.Error, "The outcome of the request with idempotency key {IdempotencyKey} could not be recorded (IdempotencyOptions.ShouldStoreResponse or the response encoding threw): the key completed as 'outcome unknown', or, when the response was held for a commit, was rolled back.", EventName = "OutcomeNotRecordable")]
    private static partial void LogOutcomeNotRecordable(ILogger logger, Exception exception, string idempotencyKey);

    [LoggerMessage(23, LogLevel.Warning, "Request with idempotency key {IdempotencyKey} produced a response of {BodyLength} bytes, over MaxStoredBodySize ({MaxStoredBodySize}), while its response was held for its transaction's commit: the transaction was rolled back and the client got 500 response-too-large-to-commit.", EventName = "HeldResponseTooLarge")]
    private static partial void LogHeldResponseTooLarge(ILogger logger, long bodyLength, int maxStoredBodySize, string idempotencyKey);

    [LoggerMessage(24, LogLevel.Information, "Replayed 'outcome unknown' for idempotency key {IdempotencyKey}: the original failed after its {StatusCode} response had started.", EventName = "ReplayedOutcomeUnknown")]
    private static partial void LogReplayedOutcomeUnknown(ILogger logger, string idempotencyKey, int statusCode);
}
