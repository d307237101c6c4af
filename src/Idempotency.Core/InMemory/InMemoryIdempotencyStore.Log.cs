using Microsoft.Extensions.Logging;

namespace Idempotency;

internal sealed partial class InMemoryIdempotencyStore
{
    [LoggerMessage(EventId = 401, EventName = "StoreEvicting", Level = LogLevel.Warning,
        Message = "The in-memory idempotency store is full and is evicting its oldest completed records to make room ({Evicted} since the last warning). " +
            "The dedup window is now {DedupWindow} (the age of the oldest completed record kept): a retry that comes later than that after its request completed runs again. " +
            "Raise InMemoryIdempotencyStoreOptions.MaxEntries or MaxBytes, shorten the retention, or use a Redis or PostgreSQL store.")]
    private partial void LogEvicting(long evicted, TimeSpan dedupWindow);

    [LoggerMessage(EventId = 402, EventName = "ScopeShareExceeded", Level = LogLevel.Debug,
        Message = "A new key was refused: its scope holds its share of the in-memory idempotency store (MaxScopeShare). Retry after {RetryAfter}.")]
    private partial void LogScopeShareExceeded(TimeSpan retryAfter);
}
