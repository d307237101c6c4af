using Microsoft.Extensions.Logging;

namespace Idempotency.PostgreSql;

internal sealed partial class PostgreSqlConditionalWriteSchemaInitializer
{
    [LoggerMessage(EventId = 3040, EventName = "PostgreSqlConditionalWriteSchemaEnsured", Level = LogLevel.Information,
        Message = "The conditional-write tables {RecordsTable} and {StreamEntriesTable} exist (created if they were missing).")]
    private partial void LogSchemaEnsured(string recordsTable, string streamEntriesTable);

    [LoggerMessage(EventId = 3041, EventName = "PostgreSqlConditionalWriteSchemaCreationFailed", Level = LogLevel.Error,
        Message = "Could not create the conditional-write tables {RecordsTable} and {StreamEntriesTable} at start-up.")]
    private partial void LogSchemaCreationFailed(Exception exception, string recordsTable, string streamEntriesTable);
}
