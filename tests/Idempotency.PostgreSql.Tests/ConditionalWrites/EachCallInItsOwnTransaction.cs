using Npgsql;

namespace Idempotency.PostgreSql.Tests.ConditionalWrites;

/// <summary>
/// The stores as a caller uses them inside transactions of its own: every call opens a connection, begins a
/// transaction, runs through <c>WithTransaction(...)</c> and commits. Run through the conformance suites, so the
/// transaction-bound views meet the same rules (and the same concurrent race) as the stores used directly.
/// </summary>
internal sealed class EachCallInItsOwnTransaction(NpgsqlDataSource dataSource, PostgreSqlVersionedRecordStore records, PostgreSqlAppendOnlyStreamStore streams)
    : IVersionedRecordStore, IAppendOnlyStreamStore
{
    public ValueTask<VersionedRecord?> GetAsync(string id, CancellationToken cancellationToken) =>
        InTransactionAsync(tx => records.WithTransaction(tx).GetAsync(id, cancellationToken), cancellationToken);

    public ValueTask<ConditionalWriteResult> CreateAsync(string id, ReadOnlyMemory<byte> value, CancellationToken cancellationToken) =>
        InTransactionAsync(tx => records.WithTransaction(tx).CreateAsync(id, value, cancellationToken), cancellationToken);

    public ValueTask<ConditionalWriteResult> UpdateIfVersionAsync(string id, long expectedVersion, ReadOnlyMemory<byte> value, CancellationToken cancellationToken) =>
        InTransactionAsync(tx => records.WithTransaction(tx).UpdateIfVersionAsync(id, expectedVersion, value, cancellationToken), cancellationToken);

    public ValueTask<ConditionalWriteResult> AppendIfLastAsync(string stream, long expectedLastSequence, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken) =>
        InTransactionAsync(tx => streams.WithTransaction(tx).AppendIfLastAsync(stream, expectedLastSequence, payload, cancellationToken), cancellationToken);

    public ValueTask<long> GetLastSequenceAsync(string stream, CancellationToken cancellationToken) =>
        InTransactionAsync(tx => streams.WithTransaction(tx).GetLastSequenceAsync(stream, cancellationToken), cancellationToken);

    public ValueTask<IReadOnlyList<StreamEntry>> ReadAsync(string stream, long fromSequence, int maxCount, CancellationToken cancellationToken) =>
        InTransactionAsync(tx => streams.WithTransaction(tx).ReadAsync(stream, fromSequence, maxCount, cancellationToken), cancellationToken);

    private async ValueTask<T> InTransactionAsync<T>(Func<NpgsqlTransaction, ValueTask<T>> call, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var result = await call(transaction);
        await transaction.CommitAsync(cancellationToken);
        return result;
    }
}
