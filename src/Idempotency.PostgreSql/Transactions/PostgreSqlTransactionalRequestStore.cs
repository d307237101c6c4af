using System.Data;
using Idempotency.AspNetCore;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Idempotency.PostgreSql;

/// <summary>
/// The store of one request in transactional mode. It opens a connection and a transaction before the claim, hands
/// both to the handler, and at completion writes the completed record and commits, in one round trip. A release, an
/// exception or a disposal without completion rolls everything back; so does a crash, because PostgreSQL rolls back
/// the transaction of a connection that disappears.
/// </summary>
/// <remarks>
/// The claim writes nothing: it takes a transaction-scoped advisory lock on the key without waiting and reads the
/// key's committed record. While this transaction holds the lock no other transactional claim of the key can run, so
/// a concurrent duplicate answers "in flight" (or replays a committed record) at once, and never waits on this one.
/// Leases play no part while the original runs: the lock lasts exactly as long as its transaction.
/// </remarks>
internal sealed partial class PostgreSqlTransactionalRequestStore : IIdempotencyRequestStore
{
    private const string BeginOperation = "begin the request's transaction";
    private const string ClaimOperation = "claim a key in the request's transaction";
    private const string CompleteOperation = "store the response in the request's transaction";
    private const string CommitOperation = "commit the request's transaction";

    private readonly HttpContext _context;
    private readonly PostgreSqlStoreSql _sql;
    private readonly NpgsqlConnection _connection;
    private readonly NpgsqlTransaction _transaction;
    private readonly PostgreSqlIdempotentTransaction _handle;
    private readonly ILogger _logger;
    private IdempotencyClaimRequest? _claim;
    private bool _ended;

    private PostgreSqlTransactionalRequestStore(
        HttpContext context, PostgreSqlStoreSql sql, NpgsqlConnection connection, NpgsqlTransaction transaction, PostgreSqlIdempotentTransaction handle, ILogger logger)
    {
        _context = context;
        _sql = sql;
        _connection = connection;
        _transaction = transaction;
        _handle = handle;
        _logger = logger;
    }

    public static async Task<IIdempotencyRequestStore> BeginAsync(HttpContext context, IsolationLevel isolationLevel, CancellationToken cancellationToken)
    {
        var services = context.RequestServices;
        var database = services.GetService<PostgreSqlIdempotencyDatabase>()
            ?? throw new InvalidOperationException(
                "The endpoint runs in PostgreSQL transactional mode, but the PostgreSQL store is not registered. " +
                "Call services.AddIdempotency().AddPostgreSqlStore(...) with the database that holds the endpoint's tables.");
        var handle = services.GetRequiredService<PostgreSqlIdempotentTransaction>();
        var logger = services.GetRequiredService<ILogger<PostgreSqlTransactionalRequestStore>>();

        NpgsqlConnection? connection = null;
        try
        {
            connection = await database.DataSource.OpenConnectionAsync(cancellationToken);
            var transaction = await connection.BeginTransactionAsync(isolationLevel, cancellationToken);
            handle.Attach(connection, transaction);
            context.Features.Set<IPostgreSqlTransactionFeature>(handle);
            return new PostgreSqlTransactionalRequestStore(context, database.Sql, connection, transaction, handle, logger);
        }
        catch (Exception ex) when (PostgreSqlStoreErrors.IsStoreFault(ex))
        {
            if (connection is not null)
            {
                await connection.DisposeAsync();
            }

            throw PostgreSqlStoreErrors.Wrap(ex, BeginOperation, database.Sql);
        }
    }

    public async ValueTask<IdempotencyClaimResult> ClaimAsync(IdempotencyClaimRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        try
        {
            var claim = await PostgreSqlStoreCommands.ClaimInTransactionAsync(_connection, _transaction, _sql, request, cancellationToken);
            if (claim.Status == ClaimStatus.Claimed)
            {
                _claim = request;
            }

            return claim;
        }
        catch (Exception ex) when (PostgreSqlStoreErrors.IsStoreFault(ex))
        {
            throw Fault(ex, ClaimOperation);
        }
    }

    public async ValueTask<CompletionStatus> CompleteAsync(IdempotencyCompleteRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (_ended || _claim is null || !string.Equals(_claim.OwnerToken, request.OwnerToken, StringComparison.Ordinal))
        {
            return CompletionStatus.ClaimLost;
        }

        try
        {
            // The one moment that decides: the record, the handler's changes and the response commit together here.
            await PostgreSqlStoreCommands.CompleteAndCommitAsync(_connection, _transaction, _sql, _claim, request, cancellationToken);
            _ended = true;
            return CompletionStatus.Completed;
        }
        catch (PostgresException ex) when (PostgreSqlStoreCommands.IsClaimedElsewhere(ex, _sql))
        {
            // A plain store claim took the key during this transaction: nothing of this request commits.
            LogClaimedElsewhere();
            await RollBackAsync();
            return CompletionStatus.ClaimLost;
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.InFailedSqlTransaction)
        {
            LogTransactionAborted(ex);
            throw new IdempotencyStoreException(
                "The request's PostgreSQL transaction was aborted by an earlier error in the handler, so neither its changes nor its " +
                "response can be committed; everything was rolled back. To recover from a database error inside the handler, run " +
                "the failing statement in a savepoint (NpgsqlTransaction.SaveAsync / RollbackAsync(name)).",
                ex);
        }
        catch (Exception ex) when (PostgreSqlStoreErrors.IsStoreFault(ex))
        {
            // Committed or not, a retry is safe: it replays what committed, or runs again if nothing did.
            throw Fault(ex, ex is PostgresException { BatchCommand.CommandText: "COMMIT" } ? CommitOperation : CompleteOperation);
        }
    }

    public async ValueTask<bool> ReleaseAsync(string key, string ownerToken, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(ownerToken);
        var owned = !_ended && string.Equals(_claim?.OwnerToken, ownerToken, StringComparison.Ordinal);
        await RollBackAsync();
        return owned;
    }

    public async ValueTask DisposeAsync()
    {
        await RollBackAsync();
        _handle.Detach();
        _context.Features.Set<IPostgreSqlTransactionFeature>(null);
        await _transaction.DisposeAsync();
        await _connection.DisposeAsync();
    }

    private async Task RollBackAsync()
    {
        if (_ended)
        {
            return;
        }

        _ended = true;
        try
        {
            await _transaction.RollbackAsync(CancellationToken.None);
        }
        catch (Exception ex) when (PostgreSqlStoreErrors.IsStoreFault(ex) || ex is InvalidOperationException)
        {
            // A broken connection: the server rolls the transaction back when it loses the connection.
            LogRollbackFailed(ex);
        }
    }

    private IdempotencyStoreException Fault(Exception exception, string operation)
    {
        LogStoreFault(exception, operation);
        return PostgreSqlStoreErrors.Wrap(exception, operation, _sql);
    }
}
