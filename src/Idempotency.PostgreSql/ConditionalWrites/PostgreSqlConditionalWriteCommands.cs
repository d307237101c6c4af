using System.Runtime.InteropServices;
using Dapper;
using Npgsql;

namespace Idempotency.PostgreSql;

/// <summary>
/// The conditional writes, run on a given connection and, optionally, the caller's transaction. Shared by the stores,
/// which open a pooled connection per operation, and by their views bound to a caller's transaction. Arguments are
/// checked by the callers (<see cref="ConditionalWriteArguments"/>) before any connection is opened.
/// </summary>
internal static class PostgreSqlConditionalWriteCommands
{
    public static async Task<VersionedRecord?> GetRecordAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, PostgreSqlConditionalWriteSql sql, string id, CancellationToken cancellationToken)
    {
        try
        {
            var row = await connection.QuerySingleOrDefaultAsync<RecordRow>(new CommandDefinition(
                sql.GetRecord, new { Id = id }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            return row is null ? null : new VersionedRecord(row.Version, row.Value);
        }
        catch (PostgresException ex) when (PostgreSqlConditionalWriteErrors.IsSchemaProblem(ex))
        {
            throw PostgreSqlConditionalWriteErrors.Wrap(ex, sql);
        }
    }

    public static async Task<ConditionalWriteResult> CreateRecordAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, PostgreSqlConditionalWriteSql sql, string id, ReadOnlyMemory<byte> value, CancellationToken cancellationToken)
    {
        try
        {
            var row = await connection.QuerySingleOrDefaultAsync<StatusRow>(new CommandDefinition(
                sql.CreateRecord, new { Id = id, Value = AsArray(value) }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            if (row is not null)
            {
                return row.Status == PostgreSqlConditionalWriteSql.AppliedStatus
                    ? ConditionalWriteResult.Applied(row.Version)
                    : ConditionalWriteResult.VersionConflict(row.Version);
            }

            // Another writer created the record after this statement's snapshot and committed while the insert waited
            // for it: a new statement (a new snapshot, under Read Committed) sees it.
            var version = await connection.QuerySingleOrDefaultAsync<long?>(new CommandDefinition(
                sql.GetRecordVersion, new { Id = id }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            return version is { } current
                ? ConditionalWriteResult.VersionConflict(current)
                : throw PostgreSqlConditionalWriteErrors.Vanished(sql.RecordsTable, "record", id);
        }
        catch (PostgresException ex) when (PostgreSqlConditionalWriteErrors.IsSchemaProblem(ex))
        {
            throw PostgreSqlConditionalWriteErrors.Wrap(ex, sql);
        }
    }

    public static async Task<ConditionalWriteResult> UpdateRecordAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, PostgreSqlConditionalWriteSql sql, string id, long expectedVersion, ReadOnlyMemory<byte> value, CancellationToken cancellationToken)
    {
        try
        {
            if (CannotBeFollowed(expectedVersion))
            {
                // No record can be at a version that has no successor, so this is a conflict (or no record at all).
                var current = await connection.QuerySingleOrDefaultAsync<long?>(new CommandDefinition(
                    sql.GetRecordVersion, new { Id = id }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
                return current is { } version ? ConditionalWriteResult.VersionConflict(version) : ConditionalWriteResult.NotFound();
            }

            var row = await connection.QuerySingleOrDefaultAsync<StatusRow>(new CommandDefinition(
                sql.UpdateRecord, new { Id = id, Expected = expectedVersion, Value = AsArray(value) }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            return row switch
            {
                null => ConditionalWriteResult.NotFound(),
                { Status: PostgreSqlConditionalWriteSql.AppliedStatus } => ConditionalWriteResult.Applied(row.Version),
                _ => ConditionalWriteResult.VersionConflict(row.Version),
            };
        }
        catch (PostgresException ex) when (PostgreSqlConditionalWriteErrors.IsSchemaProblem(ex))
        {
            throw PostgreSqlConditionalWriteErrors.Wrap(ex, sql);
        }
    }

    public static async Task<ConditionalWriteResult> AppendAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, PostgreSqlConditionalWriteSql sql, string stream, long expectedLastSequence, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        try
        {
            if (CannotBeFollowed(expectedLastSequence))
            {
                return ConditionalWriteResult.VersionConflict(await connection.QuerySingleAsync<long>(new CommandDefinition(
                    sql.GetLastSequence, new { Stream = stream }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false));
            }

            var row = await connection.QuerySingleAsync<AppendRow>(new CommandDefinition(
                sql.Append, new { Stream = stream, Expected = expectedLastSequence, Payload = AsArray(payload) }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            if (row.Appended is { } appended)
            {
                return ConditionalWriteResult.Applied(appended);
            }

            if (row.Last != expectedLastSequence)
            {
                return ConditionalWriteResult.VersionConflict(row.Last);
            }

            // The snapshot said "append", the unique index said "taken": another writer inserted entry N + 1 and
            // committed while this insert waited for it. A new statement (a new snapshot) sees how far the stream got.
            var last = await connection.QuerySingleAsync<long>(new CommandDefinition(
                sql.GetLastSequence, new { Stream = stream }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            return last > expectedLastSequence
                ? ConditionalWriteResult.VersionConflict(last)
                : throw PostgreSqlConditionalWriteErrors.Vanished(sql.StreamEntriesTable, "stream", stream);
        }
        catch (PostgresException ex) when (PostgreSqlConditionalWriteErrors.IsSchemaProblem(ex))
        {
            throw PostgreSqlConditionalWriteErrors.Wrap(ex, sql);
        }
    }

    public static async Task<long> GetLastSequenceAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, PostgreSqlConditionalWriteSql sql, string stream, CancellationToken cancellationToken)
    {
        try
        {
            return await connection.QuerySingleAsync<long>(new CommandDefinition(
                sql.GetLastSequence, new { Stream = stream }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
        }
        catch (PostgresException ex) when (PostgreSqlConditionalWriteErrors.IsSchemaProblem(ex))
        {
            throw PostgreSqlConditionalWriteErrors.Wrap(ex, sql);
        }
    }

    public static async Task<IReadOnlyList<StreamEntry>> ReadAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, PostgreSqlConditionalWriteSql sql, string stream, long fromSequence, int maxCount, CancellationToken cancellationToken)
    {
        try
        {
            var rows = await connection.QueryAsync<EntryRow>(new CommandDefinition(
                sql.Read, new { Stream = stream, FromSequence = fromSequence, MaxCount = maxCount }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            return rows.Select(row => new StreamEntry(row.Sequence, row.Payload)).ToArray();
        }
        catch (PostgresException ex) when (PostgreSqlConditionalWriteErrors.IsSchemaProblem(ex))
        {
            throw PostgreSqlConditionalWriteErrors.Wrap(ex, sql);
        }
    }

    /// <summary>
    /// Whether <paramref name="expected"/> is the last bigint, which no version or sequence can follow: a client may send
    /// it (<c>If-Match: "9223372036854775807"</c>) but no write can apply on top of it, so it answers as a version that
    /// does not match. It must never reach the statements: PostgreSQL folds <c>@Expected + 1</c> at plan time, whether
    /// or not a row matches, and fails with "bigint out of range", which would abort a caller's transaction.
    /// </summary>
    private static bool CannotBeFollowed(long expected) => expected == long.MaxValue;

    /// <summary>
    /// The connection of a caller's transaction. Npgsql itself refuses a command on a transaction that has been
    /// committed or rolled back ("Transaction is already completed"), so only a missing connection is checked here.
    /// </summary>
    public static NpgsqlConnection ConnectionOf(NpgsqlTransaction transaction) =>
        transaction.Connection ?? throw new InvalidOperationException(
            "The transaction given to WithTransaction(...) has no connection any more; bind the store to a transaction that is running.");

    // Dapper binds byte[] as bytea; avoid a copy when the memory already is a whole array (the usual case).
    private static byte[] AsArray(ReadOnlyMemory<byte> memory) =>
        MemoryMarshal.TryGetArray(memory, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : memory.ToArray();

    /// <summary>Rows the statements return; Dapper maps their columns by name.</summary>
    private sealed class RecordRow
    {
        public long Version { get; set; }

        public byte[] Value { get; set; } = [];
    }

    private sealed class StatusRow
    {
        public int Status { get; set; }

        public long Version { get; set; }
    }

    private sealed class AppendRow
    {
        public long? Appended { get; set; }

        public long Last { get; set; }
    }

    private sealed class EntryRow
    {
        public long Sequence { get; set; }

        public byte[] Payload { get; set; } = [];
    }
}
