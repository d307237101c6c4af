using Microsoft.Extensions.Logging;

namespace Idempotency.PostgreSql;

internal sealed partial class PostgreSqlCleanupService
{
    [LoggerMessage(EventId = 3020, EventName = "PostgreSqlCleanupCompleted", Level = LogLevel.Debug,
        Message = "Deleted {Count} expired idempotency records from {Table}.")]
    private partial void LogCleanupCompleted(long count, string table);

    [LoggerMessage(EventId = 3021, EventName = "PostgreSqlCleanupFailed", Level = LogLevel.Warning,
        Message = "Could not delete expired idempotency records from {Table}; retrying on the next interval.")]
    private partial void LogCleanupFailed(Exception exception, string table);
}
