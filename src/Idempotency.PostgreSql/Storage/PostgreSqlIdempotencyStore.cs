using Microsoft.Extensions.Logging;
using Npgsql;

namespace Idempotency.PostgreSql;

/// <summary>
/// Keeps idempotency records in a PostgreSQL table. Each operation is one prepared SQL statement, so one round trip:
/// claims are atomic through <c>INSERT ... ON CONFLICT</c> (a replay only reads), and only the owner token of a claim
/// completes or releases it.
/// </summary>
internal sealed partial class PostgreSqlIdempotencyStore : IIdempotencyStore
{
    /// <inheritdoc />
    public string Name => "postgresql";

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

    public ValueTask<IdempotencyClaimResult> ClaimAsync(IdempotencyClaimRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return RunAsync(ClaimOperation, request.Key, request, PostgreSqlStoreCommands.ClaimAsync, cancellationToken);
    }

    public ValueTask<CompletionStatus> CompleteAsync(IdempotencyCompleteRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return RunAsync(CompleteOperation, request.Key, request, PostgreSqlStoreCommands.CompleteAsync, cancellationToken);
    }

    public ValueTask<bool> ReleaseAsync(string key, string ownerToken, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(ownerToken);
        return RunAsync(
            ReleaseOperation,
            key,
            (Key: key, OwnerToken: ownerToken),
            static (connection, sql, release, ct) => PostgreSqlStoreCommands.ReleaseAsync(connection, sql, release.Key, release.OwnerToken, ct),
            cancellationToken);
    }

    // One statement on a pooled connection; a database failure becomes an IdempotencyStoreException that says what to check.
    private async ValueTask<TResult> RunAsync<TArgument, TResult>(
        string operation,
        string storageKey,
        TArgument argument,
        Func<NpgsqlConnection, PostgreSqlStoreSql, TArgument, CancellationToken, Task<TResult>> command,
        CancellationToken cancellationToken)
    {
        try
        {
            var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using var connectionDisposal = connection.ConfigureAwait(false);
            return await command(connection, _sql, argument, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (PostgreSqlStoreErrors.IsStoreFault(ex))
        {
            throw Fault(ex, operation, storageKey);
        }
    }

    private IdempotencyStoreException Fault(Exception exception, string operation, string storageKey)
    {
        LogStoreFault(operation, StoreFaultDescription.Describe(exception, storageKey));
        LogStoreFaultDetail(exception, operation);
        return PostgreSqlStoreErrors.Wrap(exception, operation, _sql);
    }
}
