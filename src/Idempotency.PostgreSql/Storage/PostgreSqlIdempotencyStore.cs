using System.Runtime.InteropServices;
using Dapper;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Idempotency.PostgreSql;

/// <summary>
/// Keeps idempotency records in a PostgreSQL table. Each operation is one SQL statement, so one round trip: claims are
/// atomic through <c>INSERT ... ON CONFLICT</c>, and only the owner token of a claim completes or releases it.
/// </summary>
internal sealed partial class PostgreSqlIdempotencyStore : IIdempotencyStore
{
    private const string ClaimOperation = "claim a key";
    private const string CompleteOperation = "complete a claim";
    private const string ReleaseOperation = "release a claim";

    private readonly NpgsqlDataSource _dataSource;
    private readonly PostgreSqlStoreSql _sql;
    private readonly ILogger _logger;

    public PostgreSqlIdempotencyStore(PostgreSqlIdempotencyDatabase database, ILogger<PostgreSqlIdempotencyStore> logger)
    {
        _dataSource = database.DataSource;
        _sql = database.Sql;
        _logger = logger;
    }

    public async ValueTask<IdempotencyClaimResult> ClaimAsync(IdempotencyClaimRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        try
        {
            await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
            return await ClaimAsync(connection, transaction: null, _sql, request, cancellationToken);
        }
        catch (Exception ex) when (PostgreSqlStoreErrors.IsStoreFault(ex))
        {
            throw Fault(ex, ClaimOperation);
        }
    }

    public async ValueTask<CompletionStatus> CompleteAsync(IdempotencyCompleteRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        try
        {
            await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
            return await CompleteAsync(connection, transaction: null, _sql, request, cancellationToken);
        }
        catch (Exception ex) when (PostgreSqlStoreErrors.IsStoreFault(ex))
        {
            throw Fault(ex, CompleteOperation);
        }
    }

    public async ValueTask<bool> ReleaseAsync(string key, string ownerToken, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(ownerToken);
        try
        {
            await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
            var deleted = await connection.ExecuteAsync(new CommandDefinition(
                _sql.Release,
                new { Key = key, OwnerToken = ownerToken },
                cancellationToken: cancellationToken));
            return deleted == 1;
        }
        catch (Exception ex) when (PostgreSqlStoreErrors.IsStoreFault(ex))
        {
            throw Fault(ex, ReleaseOperation);
        }
    }

    /// <summary>Runs the claim statement on an open connection, inside <paramref name="transaction"/> when one is given.</summary>
    internal static async Task<IdempotencyClaimResult> ClaimAsync(
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

        return row.Status switch
        {
            ClaimStatus.Claimed => IdempotencyClaimResult.Claimed(new DateTimeOffset(DateTime.SpecifyKind(row.ExpiresAt, DateTimeKind.Utc))),
            ClaimStatus.InFlight => IdempotencyClaimResult.InFlight(row.Remaining),
            ClaimStatus.Completed => IdempotencyClaimResult.Completed(row.Payload ?? []),
            _ => IdempotencyClaimResult.FingerprintMismatch(),
        };
    }

    /// <summary>Runs the completion statement on an open connection, inside <paramref name="transaction"/> when one is given.</summary>
    internal static async Task<CompletionStatus> CompleteAsync(
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

    // Dapper binds byte[] as bytea; avoid a copy when the memory already is a whole array (the usual case).
    private static byte[] AsArray(ReadOnlyMemory<byte> memory) =>
        MemoryMarshal.TryGetArray(memory, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : memory.ToArray();

    private IdempotencyStoreException Fault(Exception exception, string operation)
    {
        LogStoreFault(exception, operation);
        return PostgreSqlStoreErrors.Wrap(exception, operation, _sql);
    }

    /// <summary>The row the claim statement returns; Dapper maps its columns by name.</summary>
    private sealed class ClaimRow
    {
        public ClaimStatus Status { get; set; }

        public byte[]? Payload { get; set; }

        public DateTime ExpiresAt { get; set; }

        public TimeSpan Remaining { get; set; }
    }
}
