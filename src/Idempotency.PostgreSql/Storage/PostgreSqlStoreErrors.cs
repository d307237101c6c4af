using Npgsql;

namespace Idempotency.PostgreSql;

/// <summary>Turns Npgsql failures into <see cref="IdempotencyStoreException"/>s whose messages say what to do.</summary>
internal static class PostgreSqlStoreErrors
{
    /// <summary>Whether <paramref name="exception"/> is a database fault (as opposed to a bug or the caller's cancellation).</summary>
    public static bool IsStoreFault(Exception exception) => exception is NpgsqlException or TimeoutException;

    public static IdempotencyStoreException Wrap(Exception exception, string operation, PostgreSqlStoreSql sql)
    {
        var message = exception switch
        {
            PostgresException { SqlState: PostgresErrorCodes.UndefinedTable or PostgresErrorCodes.InvalidSchemaName } e =>
                $"The PostgreSQL idempotency store could not {operation}: the table {sql.QualifiedTableName} does not exist ({e.SqlState}: {e.MessageText}). " +
                "Create it with the create.sql script shipped in the Idempotency.PostgreSql package, or set " +
                "PostgreSqlIdempotencyStoreOptions.CreateSchemaOnStartup to true.",
            PostgresException { SqlState: PostgresErrorCodes.InsufficientPrivilege } e =>
                $"The PostgreSQL idempotency store could not {operation}: the database user lacks a privilege on {sql.QualifiedTableName} ({e.SqlState}: {e.MessageText}). " +
                "Grant it SELECT, INSERT, UPDATE and DELETE on the table.",
            PostgresException { SqlState: PostgresErrorCodes.UndefinedColumn or PostgresErrorCodes.DatatypeMismatch or PostgresErrorCodes.UndefinedFunction } e =>
                $"The PostgreSQL idempotency store could not {operation}: the table {sql.QualifiedTableName} does not have the columns this version expects ({e.SqlState}: {e.MessageText}). " +
                "Compare it with the create.sql script shipped in the Idempotency.PostgreSql package.",
            PostgresException { SqlState: PostgresErrorCodes.QueryCanceled } e =>
                $"The PostgreSQL idempotency store could not {operation}: the statement was cancelled by the server, usually by statement_timeout ({e.SqlState}: {e.MessageText}).",
            _ when IsTimeout(exception) =>
                $"The PostgreSQL idempotency store did not answer in time while trying to {operation}. Check that the database is reachable " +
                "and not overloaded; the connection string's Timeout and Command Timeout set how long a request waits.",
            PostgresException e =>
                $"The PostgreSQL idempotency store could not {operation} ({e.SqlState}: {e.MessageText}).",
            _ =>
                $"The PostgreSQL idempotency store could not {operation}: {exception.Message.TrimEnd('.')}. Check that the database is reachable.",
        };

        return new IdempotencyStoreException(message, exception);
    }

    public static bool IsTimeout(Exception exception) =>
        exception is TimeoutException || exception.InnerException is TimeoutException;

    /// <summary>
    /// Whether <paramref name="exception"/> says the connection to the server was lost or could not be made (a restart,
    /// a fail-over, a network fault): the server shutting down or starting (<c>57P01</c>, <c>57P02</c>, <c>57P03</c>),
    /// a connection exception (class <c>08</c>), or Npgsql failing to read, write or connect.
    /// </summary>
    public static bool LostTheServer(Exception exception) => exception switch
    {
        PostgresException e => e.SqlState.StartsWith("08", StringComparison.Ordinal) || e.SqlState is "57P01" or "57P02" or "57P03",
        NpgsqlException e => e.InnerException is IOException or System.Net.Sockets.SocketException,
        _ => false,
    };
}
