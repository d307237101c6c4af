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
            return await PostgreSqlStoreCommands.ClaimAsync(connection, _sql, request, cancellationToken);
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
            return await PostgreSqlStoreCommands.CompleteAsync(connection, _sql, request, cancellationToken);
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
            return await PostgreSqlStoreCommands.ReleaseAsync(connection, _sql, key, ownerToken, cancellationToken);
        }
        catch (Exception ex) when (PostgreSqlStoreErrors.IsStoreFault(ex))
        {
            throw Fault(ex, ReleaseOperation);
        }
    }

    private IdempotencyStoreException Fault(Exception exception, string operation)
    {
        LogStoreFault(exception, operation);
        return PostgreSqlStoreErrors.Wrap(exception, operation, _sql);
    }
}
