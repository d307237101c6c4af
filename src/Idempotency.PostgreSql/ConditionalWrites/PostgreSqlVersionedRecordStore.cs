using Npgsql;

namespace Idempotency.PostgreSql;

/// <summary>
/// Versioned records in a PostgreSQL table (<c>id</c>, <c>version</c>, <c>value</c>). Each write is one statement that
/// checks the version and writes (<c>UPDATE ... SET value = @Value, version = version + 1 WHERE id = @Id AND version =
/// @Expected</c>), and tells a conflict, with the current version, from a missing record.
/// </summary>
/// <remarks>
/// <para>
/// Used as it is, each operation borrows a pooled connection and runs in its own implicit transaction. To make a
/// write part of your own transaction (or of the PostgreSQL transactional idempotency mode's, through
/// <see cref="PostgreSqlIdempotencyUnitOfWork.Transaction"/>), call <see cref="WithTransaction"/>: the write then
/// commits or rolls back with everything else in that transaction.
/// </para>
/// <para>
/// A creation that loses a race to a writer who committed while it waited takes one more statement, to read the
/// winner's version. Register it with <c>services.AddPostgreSqlConditionalWrites(...)</c>.
/// </para>
/// </remarks>
public sealed class PostgreSqlVersionedRecordStore : IVersionedRecordStore
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly PostgreSqlConditionalWriteSql _sql;

    internal PostgreSqlVersionedRecordStore(PostgreSqlConditionalWriteDatabase database)
    {
        _dataSource = database.DataSource;
        _sql = database.Sql;
    }

    /// <summary>
    /// Returns a view of this store whose operations run on <paramref name="transaction"/>'s connection, inside it:
    /// its writes commit or roll back with the transaction, and its reads see the transaction's own changes.
    /// </summary>
    /// <param name="transaction">An open transaction on the database that holds the records table.</param>
    /// <returns>A store bound to <paramref name="transaction"/>; use it only while the transaction runs.</returns>
    /// <remarks>
    /// Under Read Committed (PostgreSQL's default) a write that meets a concurrent transaction's uncommitted change
    /// waits for it, then applies or reports the conflict. Under Repeatable Read or Serializable the database refuses
    /// such a write with a serialization failure (SQLSTATE 40001), which reaches the caller as a
    /// <see cref="PostgresException"/>: retry the whole transaction.
    /// </remarks>
    public IVersionedRecordStore WithTransaction(NpgsqlTransaction transaction)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        _ = PostgreSqlConditionalWriteCommands.ConnectionOf(transaction);
        return new TransactionBound(_sql, transaction);
    }

    /// <inheritdoc />
    public async ValueTask<VersionedRecord?> GetAsync(string id, CancellationToken cancellationToken)
    {
        ConditionalWriteArguments.Id(id, nameof(id));
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionDisposal = connection.ConfigureAwait(false);
        return await PostgreSqlConditionalWriteCommands.GetRecordAsync(connection, null, _sql, id, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<ConditionalWriteResult> CreateAsync(string id, ReadOnlyMemory<byte> value, CancellationToken cancellationToken)
    {
        ConditionalWriteArguments.Id(id, nameof(id));
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionDisposal = connection.ConfigureAwait(false);
        return await PostgreSqlConditionalWriteCommands.CreateRecordAsync(connection, null, _sql, id, value, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<ConditionalWriteResult> UpdateIfVersionAsync(string id, long expectedVersion, ReadOnlyMemory<byte> value, CancellationToken cancellationToken)
    {
        ConditionalWriteArguments.Id(id, nameof(id));
        ArgumentOutOfRangeException.ThrowIfNegative(expectedVersion);
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionDisposal = connection.ConfigureAwait(false);
        return await PostgreSqlConditionalWriteCommands.UpdateRecordAsync(connection, null, _sql, id, expectedVersion, value, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The store's operations on the caller's transaction; it never commits, rolls back or disposes it.</summary>
    private sealed class TransactionBound(PostgreSqlConditionalWriteSql sql, NpgsqlTransaction transaction) : IVersionedRecordStore
    {
        public async ValueTask<VersionedRecord?> GetAsync(string id, CancellationToken cancellationToken)
        {
            ConditionalWriteArguments.Id(id, nameof(id));
            return await PostgreSqlConditionalWriteCommands.GetRecordAsync(PostgreSqlConditionalWriteCommands.ConnectionOf(transaction), transaction, sql, id, cancellationToken).ConfigureAwait(false);
        }

        public async ValueTask<ConditionalWriteResult> CreateAsync(string id, ReadOnlyMemory<byte> value, CancellationToken cancellationToken)
        {
            ConditionalWriteArguments.Id(id, nameof(id));
            return await PostgreSqlConditionalWriteCommands.CreateRecordAsync(PostgreSqlConditionalWriteCommands.ConnectionOf(transaction), transaction, sql, id, value, cancellationToken).ConfigureAwait(false);
        }

        public async ValueTask<ConditionalWriteResult> UpdateIfVersionAsync(string id, long expectedVersion, ReadOnlyMemory<byte> value, CancellationToken cancellationToken)
        {
            ConditionalWriteArguments.Id(id, nameof(id));
            ArgumentOutOfRangeException.ThrowIfNegative(expectedVersion);
            return await PostgreSqlConditionalWriteCommands.UpdateRecordAsync(PostgreSqlConditionalWriteCommands.ConnectionOf(transaction), transaction, sql, id, expectedVersion, value, cancellationToken).ConfigureAwait(false);
        }
    }
}
