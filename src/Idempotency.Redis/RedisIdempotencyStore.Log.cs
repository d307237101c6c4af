using Microsoft.Extensions.Logging;

namespace Idempotency.Redis;

internal sealed partial class RedisIdempotencyStore
{
    // The Warning carries no exception object: StackExchange.Redis names the command's key (and with it the caller's
    // scope, a user id) in its messages. The description has the storage key cut out; the whole exception is at Debug.
    private void LogOperationFailed(string operation, Exception exception, string storageKey)
    {
        LogOperationFailed(operation, StoreFaultDescription.Describe(exception, storageKey));
        LogOperationFailedDetail(operation, exception);
    }

    [LoggerMessage(EventId = RedisLogEvents.OperationFailed, EventName = "RedisIdempotencyStoreOperationFailed", Level = LogLevel.Warning,
        Message = "The Redis idempotency store could not {Operation} a key; the request is refused rather than run unprotected. {Fault}")]
    private partial void LogOperationFailed(string operation, string fault);

    [LoggerMessage(EventId = RedisLogEvents.OperationFailedDetail, EventName = "RedisIdempotencyStoreOperationFailedDetail", Level = LogLevel.Debug,
        Message = "The Redis idempotency store could not {Operation} a key.")]
    private partial void LogOperationFailedDetail(string operation, Exception exception);

    [LoggerMessage(EventId = RedisLogEvents.CallSentAgain, EventName = "RedisIdempotencyCallSentAgain", Level = LogLevel.Information,
        Message = "An idempotency {Operation} did not reach the primary (the node it went to answered as a replica, or without the record and without a replica, or the connection dropped, as in a fail-over); it is sent again, until the claim's lease ends, each time the store has read the topology anew. {Fault}")]
    private partial void LogCallSentAgain(string operation, string fault);

    [LoggerMessage(EventId = RedisLogEvents.ScriptReloaded, EventName = "RedisIdempotencyScriptReloaded", Level = LogLevel.Information,
        Message = "Redis did not have the idempotency {Script} script cached (restart, fail-over or SCRIPT FLUSH); it was sent again.")]
    private partial void LogScriptReloaded(string script);

    [LoggerMessage(EventId = RedisLogEvents.ReplicaAcknowledgementMissing, EventName = "RedisIdempotencyReplicaAcknowledgementMissing", Level = LogLevel.Warning,
        Message = "Only {Acknowledged} of the {Required} replicas required acknowledged an idempotency {Operation} within {TimeoutMilliseconds} ms; the call fails.")]
    private partial void LogReplicaAcknowledgementMissing(string operation, long acknowledged, int required, long timeoutMilliseconds);

    [LoggerMessage(EventId = RedisLogEvents.ReplicaAcknowledgementFailed, EventName = "RedisIdempotencyReplicaAcknowledgementFailed", Level = LogLevel.Debug,
        Message = "WAIT for replica acknowledgement failed; it counts as no replica.")]
    private partial void LogReplicaAcknowledgementFailed(Exception exception);
}
