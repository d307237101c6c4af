using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Idempotency.Grpc.AspNetCore;

// Event ids are stable (600-649 belong to this package): dashboards and alerts depend on them. Add new ones; never
// renumber. Above Debug no event carries a raw key or a scope: they carry the keyed hash of the key ({KeyHash}) and
// the gRPC method's full name. Messages and metadata values are never logged.
internal sealed partial class GrpcIdempotencyInterceptor
{
    [LoggerMessage(600, LogLevel.Debug, "Call to {Method} refused with INVALID_ARGUMENT: the method requires an idempotency-key metadata entry and none was sent.", EventName = "GrpcKeyMissing")]
    private static partial void LogKeyMissing(ILogger logger, string method);

    [LoggerMessage(601, LogLevel.Debug, "Call to {Method} refused with INVALID_ARGUMENT: its idempotency-key metadata entry is invalid ({Reason}).", EventName = "GrpcKeyRejected")]
    private static partial void LogKeyRejected(ILogger logger, string method, string reason);

    [LoggerMessage(602, LogLevel.Debug, "Replayed the stored {StatusCode} outcome for idempotency key {IdempotencyKey}.", EventName = "GrpcReplayed")]
    private static partial void LogReplayed(ILogger logger, string idempotencyKey, StatusCode statusCode);

    [LoggerMessage(603, LogLevel.Warning, "The idempotency store is unavailable; the gRPC call with key hash {KeyHash} was refused with UNAVAILABLE and did not run. {Fault}", EventName = "GrpcStoreUnavailable")]
    private static partial void LogStoreUnavailable(ILogger logger, string keyHash, string fault);

    [LoggerMessage(604, LogLevel.Error, "The stored outcome for the gRPC call with key hash {KeyHash} cannot be read; answered UNAVAILABLE.", EventName = "GrpcStoredResponseUnreadable")]
    private static partial void LogStoredResponseUnreadable(ILogger logger, Exception exception, string keyHash);

    [LoggerMessage(605, LogLevel.Error, "An authenticated keyed call to {Method} has no idempotency scope: refused with INTERNAL. The user carries none of the claims {ScopeSource} with a value. Add the claim type your authentication issues to IdempotencyOptions.ScopeClaimTypes, or return a per-user value from IdempotencyOptions.ScopeResolver.", EventName = "GrpcScopeUnresolved")]
    private static partial void LogScopeUnresolved(ILogger logger, string method, string scopeSource);

    [LoggerMessage(606, LogLevel.Debug, "The gRPC call with key hash {KeyHash} was refused with RESOURCE_EXHAUSTED: its scope holds its whole share of the idempotency store; retry after {RetryAfter}.", EventName = "GrpcScopeQuotaExceeded")]
    private static partial void LogScopeQuotaExceeded(ILogger logger, string keyHash, TimeSpan retryAfter);

    [LoggerMessage(607, LogLevel.Debug, "Replayed 'outcome unknown' with INTERNAL for idempotency key {IdempotencyKey}: the original call ran, but its outcome could not be recorded.", EventName = "GrpcReplayedOutcomeUnknown")]
    private static partial void LogReplayedOutcomeUnknown(ILogger logger, string idempotencyKey);

    [LoggerMessage(608, LogLevel.Information, "The outcome of a call to {Method} with key hash {KeyHash} takes {BodyLength} bytes to store, over MaxStoredBodySize ({MaxStoredBodySize}): the key completes with its status code alone, and retries get FAILED_PRECONDITION.", EventName = "GrpcResponseTooLargeToStore")]
    private static partial void LogResponseTooLargeToStore(ILogger logger, string method, long bodyLength, int maxStoredBodySize, string keyHash);

    [LoggerMessage(609, LogLevel.Debug, "Call with idempotency key {IdempotencyKey} already completed with {StatusCode}, but its outcome was too large to store: answered FAILED_PRECONDITION.", EventName = "GrpcReplayTooLarge")]
    private static partial void LogReplayTooLarge(ILogger logger, string idempotencyKey, StatusCode statusCode);
}
