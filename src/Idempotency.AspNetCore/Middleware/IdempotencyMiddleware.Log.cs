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

    [LoggerMessage(40, LogLevel.Debug, "Request with idempotency key {IdempotencyKey} found a record written before fingerprint version 2, by its version 1 fingerprint ({ClaimStatus}).", EventName = "MatchedByV1Fingerprint")]
    private static partial void LogMatchedByV1Fingerprint(ILogger logger, string idempotencyKey, ClaimStatus claimStatus);
}
