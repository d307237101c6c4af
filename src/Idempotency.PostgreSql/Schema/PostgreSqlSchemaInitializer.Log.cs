using Microsoft.Extensions.Logging;

namespace Idempotency.PostgreSql;

internal sealed partial class PostgreSqlSchemaInitializer
{
    [LoggerMessage(EventId = 3010, EventName = "PostgreSqlSchemaEnsured", Level = LogLevel.Information,
        Message = "The idempotency table {Table} exists (created if it was missing).")]
    private partial void LogSchemaEnsured(string table);

    [LoggerMessage(EventId = 3011, EventName = "PostgreSqlSchemaCreationFailed", Level = LogLevel.Error,
        Message = "Could not create the idempotency table {Table} at start-up.")]
    private partial void LogSchemaCreationFailed(Exception exception, string table);
}
