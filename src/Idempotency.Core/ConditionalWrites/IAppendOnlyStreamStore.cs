namespace Idempotency;

/// <summary>
/// Append-only streams of numbered entries, such as an account's ledger: entry N + 1 is appended only when the
/// writer names N, the stream's last entry, so two writers never both append after the same entry and a duplicated
/// append is never applied twice.
/// </summary>
/// <remarks>
/// <para>
/// Each append checks the last sequence number and appends in one atomic operation (a unique index on
/// (stream, sequence), one Lua script): never as a read followed by a write. Of N writers that name the same last
/// entry, exactly one is applied and every other gets <see cref="ConditionalWriteStatus.VersionConflict"/> with the
/// winner's sequence number.
/// </para>
/// <para>
/// Every stream exists implicitly and starts empty, with last sequence 0; entries are numbered from 1. The last
/// sequence number is a natural entity tag for the stream (<c>ETag: "563"</c>). Run <c>Idempotency.Stores.Conformance</c>
/// against a new implementation.
/// </para>
/// </remarks>
public interface IAppendOnlyStreamStore
{
    /// <summary>Appends an entry to a stream, only if the stream's last sequence number is <paramref name="expectedLastSequence"/>.</summary>
    /// <param name="stream">The stream's id.</param>
    /// <param name="expectedLastSequence">The last sequence number the writer read; 0 for an empty stream.</param>
    /// <param name="payload">The entry's payload.</param>
    /// <param name="cancellationToken">Cancels the store call.</param>
    /// <returns>
    /// <see cref="ConditionalWriteStatus.Applied"/> with the new entry's sequence number (<paramref name="expectedLastSequence"/> + 1),
    /// or <see cref="ConditionalWriteStatus.VersionConflict"/> with the stream's last sequence number (nothing appended).
    /// </returns>
    ValueTask<ConditionalWriteResult> AppendIfLastAsync(string stream, long expectedLastSequence, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken);

    /// <summary>Reads a stream's last sequence number.</summary>
    /// <param name="stream">The stream's id.</param>
    /// <param name="cancellationToken">Cancels the store call.</param>
    /// <returns>The sequence number of the last entry; 0 when the stream is empty.</returns>
    ValueTask<long> GetLastSequenceAsync(string stream, CancellationToken cancellationToken);

    /// <summary>Reads entries of a stream in sequence order.</summary>
    /// <param name="stream">The stream's id.</param>
    /// <param name="fromSequence">The first sequence number to read; 1 or more.</param>
    /// <param name="maxCount">The most entries to return; 1 or more.</param>
    /// <param name="cancellationToken">Cancels the store call.</param>
    /// <returns>The entries from <paramref name="fromSequence"/> on, at most <paramref name="maxCount"/>; empty past the end.</returns>
    ValueTask<IReadOnlyList<StreamEntry>> ReadAsync(string stream, long fromSequence, int maxCount, CancellationToken cancellationToken);
}
