namespace Idempotency;

/// <summary>
/// Records with a version number, written only when the writer names the version it read (compare-and-set), so a
/// concurrent change is never overwritten and a duplicated write is never applied twice.
/// </summary>
/// <remarks>
/// <para>
/// Each write checks the version and writes in one atomic operation (one <c>UPDATE ... WHERE version = @expected</c>,
/// one Lua script): never as a read followed by a write. Of N writers that name the same version, exactly one is
/// applied and every other gets <see cref="ConditionalWriteStatus.VersionConflict"/> with the winner's version.
/// </para>
/// <para>
/// Versions start at 1 when a record is created and grow by one with each update, so the version is a natural
/// entity tag (<c>ETag: "3"</c>). Run <c>Idempotency.Stores.Conformance</c> against a new implementation.
/// </para>
/// </remarks>
public interface IVersionedRecordStore
{
    /// <summary>Reads a record and its version.</summary>
    /// <param name="id">The record's id.</param>
    /// <param name="cancellationToken">Cancels the store call.</param>
    /// <returns>The record, or <see langword="null"/> when it does not exist.</returns>
    ValueTask<VersionedRecord?> GetAsync(string id, CancellationToken cancellationToken);

    /// <summary>Creates a record at version 1, only if no record has that id (the store side of <c>If-None-Match: *</c>).</summary>
    /// <param name="id">The record's id.</param>
    /// <param name="value">The record's value.</param>
    /// <param name="cancellationToken">Cancels the store call.</param>
    /// <returns>
    /// <see cref="ConditionalWriteStatus.Applied"/> with version 1, or <see cref="ConditionalWriteStatus.VersionConflict"/>
    /// with the existing record's version (nothing written).
    /// </returns>
    ValueTask<ConditionalWriteResult> CreateAsync(string id, ReadOnlyMemory<byte> value, CancellationToken cancellationToken);

    /// <summary>
    /// Replaces a record's value and increments its version, only if its version is <paramref name="expectedVersion"/>
    /// (the store side of <c>If-Match</c>).
    /// </summary>
    /// <param name="id">The record's id.</param>
    /// <param name="expectedVersion">The version the writer read; zero or more.</param>
    /// <param name="value">The new value.</param>
    /// <param name="cancellationToken">Cancels the store call.</param>
    /// <returns>
    /// <see cref="ConditionalWriteStatus.Applied"/> with the new version (<paramref name="expectedVersion"/> + 1);
    /// <see cref="ConditionalWriteStatus.VersionConflict"/> with the current version when it differs (nothing written);
    /// <see cref="ConditionalWriteStatus.NotFound"/> when the record does not exist.
    /// </returns>
    ValueTask<ConditionalWriteResult> UpdateIfVersionAsync(string id, long expectedVersion, ReadOnlyMemory<byte> value, CancellationToken cancellationToken);
}
