using System.Data;
using Idempotency.AspNetCore.Deduplication;
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
/// <para>
/// The claim writes nothing: it takes an advisory lock on the key without waiting and then reads the key's committed
/// record. While this request holds the lock no other transactional claim of the key can run, so a concurrent
/// duplicate answers "in flight" (or replays a committed record) at once, and never waits on this one. Leases play no
/// part while the original runs: the lock lasts exactly as long as its transaction.
/// </para>
/// <para>
/// The read must see everything the lock's previous holder committed. Under Read Committed every statement takes a
/// new snapshot, so the lock is transaction-scoped and taken inside the transaction, with its BEGIN. Under Repeatable
/// Read and Serializable the first statement's snapshot serves the whole transaction, and it would be taken before the
/// lock is granted; so at every level but Read Committed (and Read Uncommitted, which PostgreSQL runs as Read
/// Committed) the lock is session-scoped and taken, and the record read, before the transaction begins. That lock is let
/// go of in the completion's round trip, right after COMMIT, or when the request ends.
/// </para>
/// </remarks>
internal sealed partial class PostgreSqlTransactionalRequestStore : IIdempotencyRequestStore
{
    private const string BeginOperation = "begin the request's transaction";
    private const string ClaimOperation = "claim a key in the request's transaction";
    private const string CompleteOperation = "store the response in the request's transaction";
    private const string CommitOperation = "commit the request's transaction";
    private const string UnlockOperation = "let go of the key's session lock";

    private readonly HttpContext _context;
    private readonly PostgreSqlStoreSql _sql;
    private readonly NpgsqlConnection _connection;
    private readonly IsolationLevel _isolationLevel;
    private readonly bool _locksBeforeTheTransaction;
    private readonly PostgreSqlIdempotentTransaction _handle;
    private readonly ILogger _logger;
    private NpgsqlTransaction? _transaction;
    private IdempotencyClaimRequest? _claim;
    private SessionLock _sessionLock;
    private string? _sessionLockKey;
    private bool _ended;

    private PostgreSqlTransactionalRequestStore(
        HttpContext context, PostgreSqlStoreSql sql, NpgsqlConnection connection, NpgsqlTransaction? transaction, IsolationLevel isolationLevel,
        PostgreSqlIdempotentTransaction handle, ILogger logger)
    {
        _context = context;
        _sql = sql;
        _connection = connection;
        _transaction = transaction;
        _isolationLevel = isolationLevel;
        _locksBeforeTheTransaction = transaction is null;
        _handle = handle;
        _logger = logger;
    }

    /// <summary>Whether this request holds the key's session-level lock (only at snapshot isolation levels).</summary>
    private enum SessionLock
    {
        NotHeld,

        /// <summary>Held once: one <c>pg_advisory_unlock</c> lets go of it.</summary>
        Held,

        /// <summary>A claim failed midway: the lock may or may not be held; <c>pg_advisory_unlock_all()</c> lets go of it when the request ends.</summary>
        Unknown,
    }

    /// <summary>
    /// Whether every statement of a transaction at <paramref name="isolationLevel"/> takes a snapshot of its own (Read
    /// Committed; PostgreSQL runs Read Uncommitted as Read Committed). Any other level, including one left to the
    /// server's default, gets the lock before its transaction begins.
    /// </summary>
    internal static bool SnapshotPerStatement(IsolationLevel isolationLevel) =>
        isolationLevel is IsolationLevel.ReadCommitted or IsolationLevel.ReadUncommitted;

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

            // Npgsql sends the BEGIN with the next statement: under Read Committed, the claim's.
            var transaction = SnapshotPerStatement(isolationLevel) ? await connection.BeginTransactionAsync(isolationLevel, cancellationToken) : null;
            return new PostgreSqlTransactionalRequestStore(context, database.Sql, connection, transaction, isolationLevel, handle, logger);
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
            var claim = _locksBeforeTheTransaction
                ? await ClaimBeforeTheTransactionAsync(request, cancellationToken)
                : await PostgreSqlStoreCommands.ClaimInTransactionAsync(_connection, _transaction!, _sql, request, cancellationToken);
            if (claim.Status == ClaimStatus.Claimed)
            {
                _claim = request;
                _handle.Attach(_connection, _transaction!);
                _context.Features.Set<IPostgreSqlTransactionFeature>(_handle);
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
        if (_ended || _claim is null || _transaction is null || !string.Equals(_claim.OwnerToken, request.OwnerToken, StringComparison.Ordinal))
        {
            return CompletionStatus.ClaimLost;
        }

        try
        {
            // The one moment that decides: the record, the handler's changes and the response commit together here.
            var unlock = _sessionLock == SessionLock.Held;
            await PostgreSqlStoreCommands.CompleteAndCommitAsync(_connection, _transaction, _sql, _claim, request, unlock, cancellationToken);
            _ended = true;
            if (unlock)
            {
                _sessionLock = SessionLock.NotHeld;
            }

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
        await UnlockSessionAsync();
        _handle.Detach();
        _context.Features.Set<IPostgreSqlTransactionFeature>(null);
        if (_transaction is not null)
        {
            await _transaction.DisposeAsync();
        }

        await _connection.DisposeAsync();
    }

    // Snapshot isolation levels: the key's session lock and its record, then (claimed) the transaction, whose BEGIN
    // Npgsql sends with the handler's first statement, so that the transaction's snapshot comes after the lock.
    private async Task<IdempotencyClaimResult> ClaimBeforeTheTransactionAsync(IdempotencyClaimRequest request, CancellationToken cancellationToken)
    {
        // A poll after a claim that found the record of a plain store claim while holding the lock must not take it a
        // second time (session locks count): it only reads. Until the first claim answers, the lock may be held.
        var before = _sessionLock;
        if (before == SessionLock.NotHeld)
        {
            _sessionLock = SessionLock.Unknown;
        }

        _sessionLockKey = request.Key;
        var (claim, locked) = await PostgreSqlStoreCommands.ClaimBeforeTransactionAsync(
            _connection, _sql, request, lockHeld: before == SessionLock.Held, cancellationToken);
        if (before == SessionLock.NotHeld)
        {
            _sessionLock = locked ? SessionLock.Held : SessionLock.NotHeld;
        }

        if (claim.Status == ClaimStatus.Claimed && _transaction is null)
        {
            _transaction = await _connection.BeginTransactionAsync(_isolationLevel, cancellationToken);
        }

        return claim;
    }

    private async Task RollBackAsync()
    {
        if (_ended)
        {
            return;
        }

        _ended = true;
        if (_transaction is not null)
        {
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
    }

    // A session lock outlives the transaction and would stay with the pooled connection until its next use: let go of it
    // before the connection goes back to the pool. A broken connection takes it along when the server drops the session.
    private async Task UnlockSessionAsync()
    {
        if (_sessionLock == SessionLock.NotHeld)
        {
            return;
        }

        var key = _sessionLock == SessionLock.Held ? _sessionLockKey : null;
        _sessionLock = SessionLock.NotHeld;
        try
        {
            await PostgreSqlStoreCommands.UnlockSessionAsync(_connection, _sql, key, CancellationToken.None);
        }
        catch (Exception ex) when (PostgreSqlStoreErrors.IsStoreFault(ex) || ex is InvalidOperationException)
        {
            LogUnlockFailed(ex, UnlockOperation);
        }
    }

    private IdempotencyStoreException Fault(Exception exception, string operation)
    {
        LogStoreFault(operation, StoreFaultDescription.Describe(exception, _claim?.Key ?? string.Empty));
        LogStoreFaultDetail(exception, operation);
        return PostgreSqlStoreErrors.Wrap(exception, operation, _sql);
    }
}
