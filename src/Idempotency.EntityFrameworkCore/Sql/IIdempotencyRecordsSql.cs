using System.Data.Common;

namespace Idempotency.EntityFrameworkCore;

/// <summary>
/// The provider-specific SQL of the unit of work: everything else (the transaction, <c>SaveChanges</c>, the commit) is
/// EF Core's own. A provider implements three things: a claim that locks the key for the transaction without waiting and
/// then reads the key's live record with a snapshot taken after the lock; a completion that writes the completed record
/// and fails (rather than overwrites) when a live record of another caller is there; and how to recognise that failure.
/// </summary>
internal interface IIdempotencyRecordsSql
{
    /// <summary>
    /// A command that locks the key for the transaction without waiting and then reads its live record: first a result
    /// set of one row and one boolean column (whether the lock was granted), then one with zero or one row of
    /// <c>status</c> (a <see cref="ClaimStatus"/> as an integer: in flight, completed or fingerprint mismatch),
    /// <c>payload</c> (the stored outcome of a completed record with the same fingerprint, else null) and
    /// <c>remaining_ms</c> (how long the record stays live, in milliseconds).
    /// </summary>
    DbCommand CreateClaim(DbConnection connection, IdempotencyRecordsTable table, IdempotencyClaimRequest request);

    /// <summary>
    /// A command that writes the completed record of the key: inserts it, or takes over an expired row, and fails with
    /// an error that <see cref="IsClaimedElsewhere"/> recognises when a live row is there (another, non-transactional
    /// caller claimed the key meanwhile).
    /// </summary>
    DbCommand CreateComplete(DbConnection connection, IdempotencyRecordsTable table, ReadOnlyMemory<byte> fingerprint, IdempotencyCompleteRequest request);

    /// <summary>Whether <paramref name="exception"/>, thrown by the completion's command, says a live row of another caller is there.</summary>
    bool IsClaimedElsewhere(DbException exception);
}

/// <summary>Where the records are, as the application's model maps them.</summary>
/// <param name="Schema">The schema, or <see langword="null"/> for the connection's default.</param>
/// <param name="Name">The table's name.</param>
internal sealed record IdempotencyRecordsTable(string? Schema, string Name);
