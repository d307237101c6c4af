using System.Data;
using System.Data.Common;
using Idempotency.PostgreSql;

namespace Idempotency.EntityFrameworkCore;

/// <summary>
/// The unit of work's SQL for PostgreSQL (Npgsql's EF Core provider): the same statements as the PostgreSQL store's
/// transactional mode, and the same advisory lock key, so both can share one table and exclude each other on a key.
/// </summary>
/// <remarks>
/// Provider-specific: <c>pg_try_advisory_xact_lock</c> (a lock that lasts as long as the transaction, taken without
/// waiting), <c>INSERT ... ON CONFLICT ... DO UPDATE</c>, <c>clock_timestamp()</c> and interval arithmetic, and the
/// <c>23502</c> (not-null violation) SQLSTATE by which a live row of another caller makes the completion fail.
/// </remarks>
internal sealed class PostgreSqlIdempotencyRecordsSql : IIdempotencyRecordsSql
{
    /// <summary>The EF Core provider this SQL is for.</summary>
    public const string ProviderName = "Npgsql.EntityFrameworkCore.PostgreSQL";

    private const string NotNullViolation = "23502";
    private const short InFlightState = 1;
    private const short CompletedState = 2;
    private const short FormatVersion = 1;

    public static readonly PostgreSqlIdempotencyRecordsSql Instance = new();

    public DbCommand CreateClaim(DbConnection connection, IdempotencyRecordsTable table, IdempotencyClaimRequest request)
    {
        // Two statements, each with a snapshot of its own under Read Committed: the read's comes after the lock, so it
        // sees everything the lock's previous holder committed.
        var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT pg_try_advisory_xact_lock(@lock_key);
            SELECT
                CASE WHEN fingerprint <> @fingerprint THEN {(int)ClaimStatus.FingerprintMismatch}
                     WHEN state = {CompletedState} THEN {(int)ClaimStatus.Completed}
                     ELSE {(int)ClaimStatus.InFlight} END AS status,
                CASE WHEN state = {CompletedState} AND fingerprint = @fingerprint THEN payload END AS payload,
                (EXTRACT(EPOCH FROM expires_at - clock_timestamp()) * 1000)::double precision AS remaining_ms
            FROM {Qualified(table)}
            WHERE key = @key AND expires_at > clock_timestamp()
            """;
        Add(command, "lock_key", DbType.Int64, LockKey(table, request.Key));
        Add(command, "key", DbType.String, request.Key);
        Add(command, "fingerprint", DbType.Binary, request.Fingerprint.ToArray());
        return command;
    }

    public DbCommand CreateComplete(DbConnection connection, IdempotencyRecordsTable table, ReadOnlyMemory<byte> fingerprint, IdempotencyCompleteRequest request)
    {
        // A live row here was written by a plain (non-transactional) store claim since this transaction's claim: the
        // update then sets state to NULL, and the NOT NULL constraint fails the statement. An expired row is taken over.
        var command = connection.CreateCommand();
        command.CommandText = $"""
            INSERT INTO {Qualified(table)} AS r (key, state, owner_token, fingerprint, payload, format_version, expires_at, created_at)
            VALUES (@key, {CompletedState}, NULL, @fingerprint, @payload, {FormatVersion}, clock_timestamp() + @retention_ms * interval '1 millisecond', now())
            ON CONFLICT (key) DO UPDATE SET
                state = CASE WHEN r.expires_at <= clock_timestamp() THEN EXCLUDED.state END,
                owner_token = NULL, fingerprint = EXCLUDED.fingerprint, payload = EXCLUDED.payload,
                format_version = EXCLUDED.format_version, expires_at = EXCLUDED.expires_at, created_at = EXCLUDED.created_at
            """;
        Add(command, "key", DbType.String, request.Key);
        Add(command, "fingerprint", DbType.Binary, fingerprint.ToArray());
        Add(command, "payload", DbType.Binary, request.Payload.ToArray());
        Add(command, "retention_ms", DbType.Double, request.Retention.TotalMilliseconds);
        return command;
    }

    public bool IsClaimedElsewhere(DbException exception) => exception.SqlState == NotNullViolation;

    // The PostgreSQL store's lock key: SHA-256 over the quoted, schema-qualified table name and the key.
    private static long LockKey(IdempotencyRecordsTable table, string key) =>
        PostgreSqlAdvisoryLocks.For($"\"{table.Schema ?? "public"}\".\"{table.Name}\"", key);

    private static string Qualified(IdempotencyRecordsTable table) =>
        table.Schema is null ? Quote(table.Name) : $"{Quote(table.Schema)}.{Quote(table.Name)}";

    private static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    private static void Add(DbCommand command, string name, DbType type, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.DbType = type;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }
}
