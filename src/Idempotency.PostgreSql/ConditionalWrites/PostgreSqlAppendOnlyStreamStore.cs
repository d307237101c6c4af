using Npgsql;

namespace Idempotency.PostgreSql;

/// <summary>
/// Append-only streams in a PostgreSQL table (<c>stream</c>, <c>sequence</c>, <c>payload</c>) whose primary key is the
/// unique index on (stream, sequence): entry N + 1 is inserted only when the last entry is N, and of two writers that
/// insert the same entry N + 1 the index lets exactly one through, whatever the timing.
/// </summary>
/// <remarks>
/// <para>
/// An append is one statement. One that loses a race to a writer who committed while it waited takes one more, to
/// read how far the stream got. Reads are one statement each.
/// </para>
/// <para>
/// Used as it is, each operation borrows a pooled connection and runs in its own implicit transaction. To make an
/// append part of your own transaction (or of the PostgreSQL transactional idempotency mode's, through
/// <see cref="PostgreSqlIdempotencyUnitOfWork.Transaction"/>), call <see cref="WithTransaction"/>: a rollback then
/// removes the entry with everything else, and a concurrent writer of the same entry waits for the outcome.
/// Register it with <c>services.AddPostgreSqlConditionalWrites(...)</c>.
/// </para>
/// </remarks>
public sealed class PostgreSqlAppendOnlyStreamStore : IAppendOnlyStreamStore
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly PostgreSqlConditionalWriteSql _sql;

    internal PostgreSqlAppendOnlyStreamStore(PostgreSqlConditionalWriteDatabase database)
    {
        _dataSource = database.DataSource;
        _sql = database.Sql;
    }

    /// <summary>
    /// Returns a view of this store whose operations run on <paramref name="transaction"/>'s connection, inside it:
    /// its appends commit or roll back with the transaction, and its reads see the transaction's own appends.
    /// </summary>
    /// <param name="transaction">An open transaction on the database that holds the stream entries table.</param>
    /// <returns>A store bound to <paramref name="transaction"/>; use it only while the transaction runs.</returns>
    /// <remarks>
    /// Under Read Committed (PostgreSQL's default) an append of an entry that a concurrent transaction has inserted
    /// but not committed waits for it: it reports the conflict if that transaction commits, and appends if it rolls
    /// back. Under Repeatable Read or Serializable the database refuses such an append with a serialization failure
    /// (SQLSTATE 40001), which reaches the caller as a <see cref="PostgresException"/>: retry the whole transaction.
    /// </remarks>
    public IAppendOnlyStreamStore WithTransaction(NpgsqlTransaction transaction)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        _ = PostgreSqlConditionalWriteCommands.ConnectionOf(transaction);
        return new TransactionBound(_sql, transaction);
    }

    /// <inheritdoc />
    public async ValueTask<ConditionalWriteResult> AppendIfLastAsync(string stream, long expectedLastSequence, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        ConditionalWriteArguments.Id(stream, nameof(stream));
        ArgumentOutOfRangeException.ThrowIfNegative(expectedLastSequence);
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionDisposal = connection.ConfigureAwait(false);
        return await PostgreSqlConditionalWriteCommands.AppendAsync(connection, null, _sql, stream, expectedLastSequence, payload, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<long> GetLastSequenceAsync(string stream, CancellationToken cancellationToken)
    {
        ConditionalWriteArguments.Id(stream, nameof(stream));
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionDisposal = connection.ConfigureAwait(false);
        return await PostgreSqlConditionalWriteCommands.GetLastSequenceAsync(connection, null, _sql, stream, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<StreamEntry>> ReadAsync(string stream, long fromSequence, int maxCount, CancellationToken cancellationToken)
    {
        ConditionalWriteArguments.Range(stream, fromSequence, maxCount);
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionDisposal = connection.ConfigureAwait(false);
        return await PostgreSqlConditionalWriteCommands.ReadAsync(connection, null, _sql, stream, fromSequence, maxCount, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The store's operations on the caller's transaction; it never commits, rolls back or disposes it.</summary>
    private sealed class TransactionBound(PostgreSqlConditionalWriteSql sql, NpgsqlTransaction transaction) : IAppendOnlyStreamStore
    {
        public async ValueTask<ConditionalWriteResult> AppendIfLastAsync(string stream, long expectedLastSequence, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
        {
            ConditionalWriteArguments.Id(stream, nameof(stream));
            ArgumentOutOfRangeException.ThrowIfNegative(expectedLastSequence);
            return await PostgreSqlConditionalWriteCommands.AppendAsync(PostgreSqlConditionalWriteCommands.ConnectionOf(transaction), transaction, sql, stream, expectedLastSequence, payload, cancellationToken).ConfigureAwait(false);
        }

        public async ValueTask<long> GetLastSequenceAsync(string stream, CancellationToken cancellationToken)
        {
            ConditionalWriteArguments.Id(stream, nameof(stream));
            return await PostgreSqlConditionalWriteCommands.GetLastSequenceAsync(PostgreSqlConditionalWriteCommands.ConnectionOf(transaction), transaction, sql, stream, cancellationToken).ConfigureAwait(false);
        }

        public async ValueTask<IReadOnlyList<StreamEntry>> ReadAsync(string stream, long fromSequence, int maxCount, CancellationToken cancellationToken)
        {
            ConditionalWriteArguments.Range(stream, fromSequence, maxCount);
            return await PostgreSqlConditionalWriteCommands.ReadAsync(PostgreSqlConditionalWriteCommands.ConnectionOf(transaction), transaction, sql, stream, fromSequence, maxCount, cancellationToken).ConfigureAwait(false);
        }
    }
}
