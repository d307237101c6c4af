using Microsoft.Extensions.Logging;

namespace Idempotency;

// Event ids are stable: dashboards and alerts depend on them. Add new ones; never renumber. They keep the numbers they
// had when the ASP.NET Core middleware wrote them, so an alert on "event 9" still fires, now for every adapter.
// Above Debug, no event carries a raw key, a scope (user id) or a store exception's message with the storage key in
// it: they carry the keyed hash of the key ({KeyHash}). Raw keys appear at Debug only. Payloads and owner tokens are
// never logged.
public sealed partial class IdempotencyEngine
{
    [LoggerMessage(3, LogLevel.Debug, "Operation with idempotency key {IdempotencyKey} ran and its outcome was stored.", EventName = "Executed")]
    private static partial void LogExecuted(ILogger logger, string idempotencyKey);

    [LoggerMessage(5, LogLevel.Debug, "Operation with idempotency key {IdempotencyKey} refused: the original is still in flight.", EventName = "InFlight")]
    private static partial void LogInFlight(ILogger logger, string idempotencyKey);

    [LoggerMessage(6, LogLevel.Debug, "Operation with idempotency key {IdempotencyKey} refused: the key belongs to a different request.", EventName = "FingerprintMismatch")]
    private static partial void LogFingerprintMismatch(ILogger logger, string idempotencyKey);

    [LoggerMessage(7, LogLevel.Debug, "Operation with idempotency key {IdempotencyKey} ended with a transient outcome: the key was released so a retry can run.", EventName = "ReleasedAfterTransientOutcome")]
    private static partial void LogReleasedAfterTransientOutcome(ILogger logger, string idempotencyKey);

    [LoggerMessage(8, LogLevel.Debug, "Operation with idempotency key {IdempotencyKey} threw {ExceptionType}: the key was released so a retry can run.", EventName = "ReleasedAfterException")]
    private static partial void LogReleasedAfterException(ILogger logger, string exceptionType, string idempotencyKey);

    [LoggerMessage(9, LogLevel.Warning, "Operation with key hash {KeyHash} ran, but its claim was lost before it completed (lease {LeaseDuration} and the store's grace period ended and another caller took the key): its outcome was not stored. Raise the lease duration above the slowest operation.", EventName = "ClaimLost")]
    private static partial void LogClaimLost(ILogger logger, string keyHash, TimeSpan leaseDuration);

    [LoggerMessage(13, LogLevel.Warning, "Operation with key hash {KeyHash} ran, but its outcome could not be stored. {Consequence} {Fault}", EventName = "CompleteFailed")]
    private static partial void LogCompleteFailed(ILogger logger, string keyHash, string fault, string consequence);

    [LoggerMessage(14, LogLevel.Warning, "Could not release the claim on the key with hash {KeyHash}; retries are told it is in flight until its lease ({LeaseDuration}) ends. {Fault}", EventName = "ReleaseFailed")]
    private static partial void LogReleaseFailed(ILogger logger, string keyHash, string fault, TimeSpan leaseDuration);

    [LoggerMessage(21, LogLevel.Warning, "Operation with key hash {KeyHash} threw {ExceptionType} after its outcome had started to reach the caller: its effect is presumed applied, so the key completed as 'outcome unknown' and retries are told so instead of running it again.", EventName = "OutcomeUnknown")]
    private static partial void LogOutcomeUnknown(ILogger logger, string exceptionType, string keyHash);

    [LoggerMessage(27, LogLevel.Warning, "Operation with key hash {KeyHash} failed after it had committed part of its work outside its unit of work (it ended the transaction itself), which a rollback cannot undo: the key completed as 'outcome unknown' and retries are told so instead of running it again.", EventName = "OutcomeUnknownAfterCommitOutsideUnit")]
    private static partial void LogOutcomeUnknownAfterCommitOutsideUnit(ILogger logger, string keyHash);

    [LoggerMessage(22, LogLevel.Error, "The outcome of the operation with key hash {KeyHash} could not be recorded (its outcome codec threw): the key completed as 'outcome unknown', or, when the outcome was held for a commit, was rolled back.", EventName = "OutcomeNotRecordable")]
    private static partial void LogOutcomeNotRecordable(ILogger logger, Exception exception, string keyHash);

    [LoggerMessage(25, LogLevel.Debug, "The idempotency store failed for idempotency key {IdempotencyKey}.", EventName = "StoreFaultDetail")]
    private static partial void LogStoreFaultDetail(ILogger logger, Exception exception, string idempotencyKey);

    [LoggerMessage(30, LogLevel.Information, "Idempotency {Outcome} on {RouteTemplate}; trace {TraceId}, key hash {KeyHash}, scope hash {ScopeHash}.", EventName = "Audit")]
    private static partial void LogAudit(ILogger logger, string outcome, string routeTemplate, string traceId, string keyHash, string scopeHash);

    [LoggerMessage(31, LogLevel.Information, "IdempotencyEngineOptions.AuditHashSecret (or IdempotencyOptions.AuditHashSecret) is not set: audit key and scope hashes use a secret made for this process, so they correlate this instance's events but cannot be recomputed from a key a client reports. Set the same secret on every instance to look requests up by key.", EventName = "AuditSecretRandom")]
    private static partial void LogAuditSecretRandom(ILogger logger);

    [LoggerMessage(40, LogLevel.Debug, "Operation with idempotency key {IdempotencyKey} found a record written by an earlier release, by its previous fingerprint ({ClaimStatus}).", EventName = "MatchedByV1Fingerprint")]
    private static partial void LogMatchedByPreviousFingerprint(ILogger logger, string idempotencyKey, ClaimStatus claimStatus);
}
