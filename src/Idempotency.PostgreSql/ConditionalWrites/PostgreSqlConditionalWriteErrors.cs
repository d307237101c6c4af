using Npgsql;

namespace Idempotency.PostgreSql;

/// <summary>
/// Turns the database errors that mean "the tables are not what this version expects" into
/// <see cref="IdempotencyStoreException"/>s that say what to do. Every other Npgsql exception reaches the caller as it
/// is: inside the caller's own transaction, a serialization failure or a deadlock is theirs to handle and retry.
/// </summary>
internal static class PostgreSqlConditionalWriteErrors
{
    public static bool IsSchemaProblem(PostgresException exception) => exception.SqlState is
        PostgresErrorCodes.UndefinedTable or PostgresErrorCodes.InvalidSchemaName or PostgresErrorCodes.UndefinedColumn or
        PostgresErrorCodes.DatatypeMismatch or PostgresErrorCodes.InsufficientPrivilege or PostgresErrorCodes.InvalidColumnReference;

    public static IdempotencyStoreException Wrap(PostgresException exception, PostgreSqlConditionalWriteSql sql) => exception.SqlState switch
    {
        PostgresErrorCodes.UndefinedTable or PostgresErrorCodes.InvalidSchemaName => new(
            $"The PostgreSQL conditional-write tables {sql.RecordsTable} and {sql.StreamEntriesTable} are missing ({exception.SqlState}: {exception.MessageText}). " +
            "Create them with the conditional-writes.sql script shipped in the Idempotency.PostgreSql package, or set " +
            "PostgreSqlConditionalWriteOptions.CreateSchemaOnStartup to true.",
            exception),
        PostgresErrorCodes.InsufficientPrivilege => new(
            $"The database user lacks a privilege on the PostgreSQL conditional-write tables {sql.RecordsTable} and {sql.StreamEntriesTable} ({exception.SqlState}: {exception.MessageText}). " +
            "Grant it SELECT, INSERT and UPDATE on both.",
            exception),
        _ => new(
            $"The PostgreSQL conditional-write tables {sql.RecordsTable} and {sql.StreamEntriesTable} do not have the columns or the unique index this version expects ({exception.SqlState}: {exception.MessageText}). " +
            "Compare them with the conditional-writes.sql script shipped in the Idempotency.PostgreSql package.",
            exception),
    };

    /// <summary>A write lost to a row that is gone when read again: something other than these stores deletes rows.</summary>
    public static IdempotencyStoreException Vanished(string table, string kind, string id) => new(
        $"A conditional write to the {kind} '{id}' in {table} lost to another writer whose row was gone when read again. " +
        "These stores never delete rows: another program deletes from the table; give these stores tables of their own.");
}
