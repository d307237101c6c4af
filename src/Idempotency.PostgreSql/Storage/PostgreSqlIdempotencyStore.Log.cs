using Microsoft.Extensions.Logging;

namespace Idempotency.PostgreSql;

internal sealed partial class PostgreSqlIdempotencyStore
{
    [LoggerMessage(EventId = 3001, EventName = "PostgreSqlStoreFault", Level = LogLevel.Warning,
        Message = "The PostgreSQL idempotency store could not {Operation}.")]
    private partial void LogStoreFault(Exception exception, string operation);
}
