using Microsoft.Extensions.Logging;

namespace Idempotency.Redis;

internal sealed partial class RedisIdempotencyStore
{
    [LoggerMessage(EventId = RedisLogEvents.OperationFailed, EventName = "RedisIdempotencyStoreOperationFailed", Level = LogLevel.Warning,
        Message = "The Redis idempotency store could not {Operation} a key; the request is refused rather than run unprotected.")]
    private partial void LogOperationFailed(string operation, Exception exception);

    [LoggerMessage(EventId = RedisLogEvents.ScriptReloaded, EventName = "RedisIdempotencyScriptReloaded", Level = LogLevel.Information,
        Message = "Redis did not have the idempotency {Script} script cached (restart, fail-over or SCRIPT FLUSH); it was sent again.")]
    private partial void LogScriptReloaded(string script);
}
