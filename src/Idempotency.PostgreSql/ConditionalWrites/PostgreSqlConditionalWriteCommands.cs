using System.Data;
using Npgsql;
using NpgsqlTypes;

namespace Idempotency.PostgreSql;

/// <summary>
/// The conditional writes, run on a given connection and, optionally, the caller's transaction. Shared by the stores,
/// which open a pooled connection per operation, and by their views bound to a caller's transaction. Arguments are
/// checked by the callers (<see cref="ConditionalWriteArguments"/>) before any connection is opened.
/// </summary>
/// <remarks>
/// Plain Npgsql commands with typed parameters and reader getters (no reflection, so the package is trimming- and
/// Native AOT-safe). A row is read the way the statements were read before (Dapper's <c>QuerySingle</c> and
/// <c>QuerySingleOrDefault</c>): more than one row, or none where one is required, is an <see cref="InvalidOperationException"/>.
/// </remarks>
internal static class PostgreSqlConditionalWriteCommands
{
    public static async Task<VersionedRecord?> GetRecordAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, PostgreSqlConditionalWriteSql sql, string id, CancellationToken cancellationToken)
    {
        try
        {
            var command = Command(connection, transaction, sql.GetRecord, Text("Id", id));
            await using var commandDisposal = command.ConfigureAwait(false);
            var (found, record) = await QuerySingleOrDefaultAsync(
                command, static reader => new VersionedRecord(reader.GetInt64(0), reader.GetFieldValue<byte[]>(1)), cancellationToken).ConfigureAwait(false);
            return found ? record : null;
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
            var command = Command(connection, transaction, sql.CreateRecord, Text("Id", id), Bytes("Value", value));
            await using var commandDisposal = command.ConfigureAwait(false);
            var (found, row) = await QuerySingleOrDefaultAsync(command, ReadStatus, cancellationToken).ConfigureAwait(false);
            if (found)
            {
                return row.Status == PostgreSqlConditionalWriteSql.AppliedStatus
                    ? ConditionalWriteResult.Applied(row.Version)
                    : ConditionalWriteResult.VersionConflict(row.Version);
            }

            // Another writer created the record after this statement's snapshot and committed while the insert waited
            // for it: a new statement (a new snapshot, under Read Committed) sees it.
            var version = await GetRecordVersionAsync(connection, transaction, sql, id, cancellationToken).ConfigureAwait(false);
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
                var current = await GetRecordVersionAsync(connection, transaction, sql, id, cancellationToken).ConfigureAwait(false);
                return current is { } version ? ConditionalWriteResult.VersionConflict(version) : ConditionalWriteResult.NotFound();
            }

            var command = Command(
                connection, transaction, sql.UpdateRecord, Text("Id", id), Int64("Expected", expectedVersion), Bytes("Value", value));
            await using var commandDisposal = command.ConfigureAwait(false);
            var (found, row) = await QuerySingleOrDefaultAsync(command, ReadStatus, cancellationToken).ConfigureAwait(false);
            return !found
                ? ConditionalWriteResult.NotFound()
                : row.Status == PostgreSqlConditionalWriteSql.AppliedStatus
                    ? ConditionalWriteResult.Applied(row.Version)
                    : ConditionalWriteResult.VersionConflict(row.Version);
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
                return ConditionalWriteResult.VersionConflict(
                    await QueryLastSequenceAsync(connection, transaction, sql, stream, cancellationToken).ConfigureAwait(false));
            }

            var command = Command(
                connection, transaction, sql.Append, Text("Stream", stream), Int64("Expected", expectedLastSequence), Bytes("Payload", payload));
            await using var commandDisposal = command.ConfigureAwait(false);
            var row = await QuerySingleAsync(
                command, static reader => (Appended: reader.IsDBNull(0) ? (long?)null : reader.GetInt64(0), Last: reader.GetInt64(1)), cancellationToken)
                .ConfigureAwait(false);
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
            var last = await QueryLastSequenceAsync(connection, transaction, sql, stream, cancellationToken).ConfigureAwait(false);
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
            return await QueryLastSequenceAsync(connection, transaction, sql, stream, cancellationToken).ConfigureAwait(false);
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
            var command = Command(
                connection, transaction, sql.Read, Text("Stream", stream), Int64("FromSequence", fromSequence), Int32("MaxCount", maxCount));
            await using var commandDisposal = command.ConfigureAwait(false);
            var reader = await command.ExecuteReaderAsync(CommandBehavior.SequentialAccess | CommandBehavior.SingleResult, cancellationToken).ConfigureAwait(false);
            await using var readerDisposal = reader.ConfigureAwait(false);
            var entries = new List<StreamEntry>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                entries.Add(new StreamEntry(reader.GetInt64(0), reader.GetFieldValue<byte[]>(1)));
            }

            return entries.ToArray();
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

    private static async Task<long?> GetRecordVersionAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, PostgreSqlConditionalWriteSql sql, string id, CancellationToken cancellationToken)
    {
        var command = Command(connection, transaction, sql.GetRecordVersion, Text("Id", id));
        await using var commandDisposal = command.ConfigureAwait(false);
        var (_, version) = await QuerySingleOrDefaultAsync(
            command, static reader => reader.IsDBNull(0) ? (long?)null : reader.GetInt64(0), cancellationToken).ConfigureAwait(false);
        return version;
    }

    private static async Task<long> QueryLastSequenceAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, PostgreSqlConditionalWriteSql sql, string stream, CancellationToken cancellationToken)
    {
        var command = Command(connection, transaction, sql.GetLastSequence, Text("Stream", stream));
        await using var commandDisposal = command.ConfigureAwait(false);
        return await QuerySingleAsync(command, static reader => reader.GetInt64(0), cancellationToken).ConfigureAwait(false);
    }

    private static (int Status, long Version) ReadStatus(NpgsqlDataReader reader) => (reader.GetInt32(0), reader.GetInt64(1));

    /// <summary>The only row of the result, mapped; none or more than one is an <see cref="InvalidOperationException"/>.</summary>
    private static async Task<T> QuerySingleAsync<T>(NpgsqlCommand command, Func<NpgsqlDataReader, T> map, CancellationToken cancellationToken)
    {
        var (found, value) = await QuerySingleOrDefaultAsync(command, map, cancellationToken).ConfigureAwait(false);
        return found ? value : throw new InvalidOperationException("Sequence contains no elements");
    }

    /// <summary>Whether the result has a row, and that row mapped; more than one row is an <see cref="InvalidOperationException"/>.</summary>
    private static async Task<(bool Found, T Value)> QuerySingleOrDefaultAsync<T>(
        NpgsqlCommand command, Func<NpgsqlDataReader, T> map, CancellationToken cancellationToken)
    {
        var reader = await command.ExecuteReaderAsync(CommandBehavior.SequentialAccess | CommandBehavior.SingleResult, cancellationToken).ConfigureAwait(false);
        await using var readerDisposal = reader.ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            return (false, default!);
        }

        var value = map(reader);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
            ? throw new InvalidOperationException("Sequence contains more than one element")
            : (true, value);
    }

    private static NpgsqlCommand Command(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, params ReadOnlySpan<NpgsqlParameter> parameters)
    {
        var command = new NpgsqlCommand(sql, connection, transaction);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(parameter);
        }

        return command;
    }

    private static NpgsqlParameter<string> Text(string name, string value) => new(name, value);

    private static NpgsqlParameter<long> Int64(string name, long value) => new(name, value);

    private static NpgsqlParameter<int> Int32(string name, int value) => new(name, value);

    // Bound as bytea straight from the memory, without copying it into an array first.
    private static NpgsqlParameter<ReadOnlyMemory<byte>> Bytes(string name, ReadOnlyMemory<byte> value) =>
        new(name, value) { NpgsqlDbType = NpgsqlDbType.Bytea };
}
