using System.Runtime.InteropServices;
using Dapper;
using Npgsql;

namespace Idempotency.PostgreSql;

/// <summary>
/// The store's statements, run on a given connection and (in transactional mode) transaction. Shared by the store,
/// which opens a pooled connection per operation, and by the transactional request store.
/// </summary>
internal static class PostgreSqlStoreCommands
{
    public static async Task<IdempotencyClaimResult> ClaimAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, PostgreSqlStoreSql sql, IdempotencyClaimRequest request, CancellationToken cancellationToken)
    {
        var row = await connection.QuerySingleAsync<ClaimRow>(new CommandDefinition(
            sql.Claim,
            new
            {
                request.Key,
                request.OwnerToken,
                Fingerprint = AsArray(request.Fingerprint),
                LeaseMilliseconds = request.LeaseDuration.TotalMilliseconds,
            },
            transaction,
            cancellationToken: cancellationToken));
        return ToResult(row);
    }

    /// <summary>
    /// The transactional claim: when another transaction holds the key, the committed record (a replay or a mismatch)
    /// or else <see cref="ClaimStatus.InFlight"/>, at once.
    /// </summary>
    public static async Task<IdempotencyClaimResult> ClaimInTransactionAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, PostgreSqlStoreSql sql, IdempotencyClaimRequest request, CancellationToken cancellationToken)
    {
        var row = await connection.QuerySingleOrDefaultAsync<ClaimRow>(new CommandDefinition(
            sql.TransactionalClaim,
            new
            {
                request.Key,
                request.OwnerToken,
                Fingerprint = AsArray(request.Fingerprint),
                LeaseMilliseconds = request.LeaseDuration.TotalMilliseconds,
                LockKey = PostgreSqlAdvisoryLocks.For(sql.QualifiedTableName, request.Key),
            },
            transaction,
            cancellationToken: cancellationToken));

        // No row: another transaction holds the key and nothing is committed yet. Its lease is not visible from here.
        return row is null ? IdempotencyClaimResult.InFlight(request.LeaseDuration) : ToResult(row);
    }

    public static async Task<CompletionStatus> CompleteAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, PostgreSqlStoreSql sql, IdempotencyCompleteRequest request, CancellationToken cancellationToken)
    {
        var updated = await connection.ExecuteAsync(new CommandDefinition(
            sql.Complete,
            new
            {
                request.Key,
                request.OwnerToken,
                Payload = AsArray(request.Payload),
                RetentionMilliseconds = request.Retention.TotalMilliseconds,
            },
            transaction,
            cancellationToken: cancellationToken));
        return updated == 1 ? CompletionStatus.Completed : CompletionStatus.ClaimLost;
    }

    public static async Task<bool> ReleaseAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, PostgreSqlStoreSql sql, string key, string ownerToken, CancellationToken cancellationToken)
    {
        var deleted = await connection.ExecuteAsync(new CommandDefinition(
            sql.Release,
            new { Key = key, OwnerToken = ownerToken },
            transaction,
            cancellationToken: cancellationToken));
        return deleted == 1;
    }

    private static IdempotencyClaimResult ToResult(ClaimRow row) => row.Status switch
    {
        ClaimStatus.Claimed => IdempotencyClaimResult.Claimed(new DateTimeOffset(DateTime.SpecifyKind(row.ExpiresAt, DateTimeKind.Utc))),
        ClaimStatus.InFlight => IdempotencyClaimResult.InFlight(row.Remaining),
        ClaimStatus.Completed => IdempotencyClaimResult.Completed(row.Payload ?? []),
        _ => IdempotencyClaimResult.FingerprintMismatch(),
    };

    // Dapper binds byte[] as bytea; avoid a copy when the memory already is a whole array (the usual case).
    private static byte[] AsArray(ReadOnlyMemory<byte> memory) =>
        MemoryMarshal.TryGetArray(memory, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : memory.ToArray();

    /// <summary>The row the claim statements return; Dapper maps its columns by name.</summary>
    private sealed class ClaimRow
    {
        public ClaimStatus Status { get; set; }

        public byte[]? Payload { get; set; }

        public DateTime ExpiresAt { get; set; }

        public TimeSpan Remaining { get; set; }
    }
}
