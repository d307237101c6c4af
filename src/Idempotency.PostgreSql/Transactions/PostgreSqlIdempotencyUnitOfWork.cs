using System.Data;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Idempotency.PostgreSql;

/// <summary>
/// One unit of work in PostgreSQL transactional mode: a store bound to one connection and transaction of the store's
/// database, begun by <see cref="PostgreSqlIdempotencyUnitOfWorkFactory.BeginAsync"/>. Claim the key through
/// <see cref="ClaimAsync"/>; once claimed, do the operation's work through <see cref="Connection"/> and
/// <see cref="Transaction"/>; <see cref="CompleteAsync"/> then writes the completed record and commits the record and
/// the work together, in one round trip. A release, an exception or a disposal without completion rolls everything
/// back; so does a crash, because PostgreSQL rolls back the transaction of a connection that disappears.
/// </summary>
/// <remarks>
/// <para>
/// A message handler uses it like this: begin a unit of work, claim the message's key, apply the message's effect on
/// <see cref="Connection"/> in <see cref="Transaction"/>, complete, and only then acknowledge the message; dispose it
/// whatever happens. A delivery that fails anywhere before the commit leaves nothing, and its redelivery runs again;
/// one after the commit finds the completed record. Do not commit or roll back <see cref="Transaction"/> yourself, and
/// do not dispose <see cref="Connection"/>. A database error aborts the whole transaction: to recover from one, run the
/// statement inside a savepoint (<see cref="NpgsqlTransaction.SaveAsync(string, CancellationToken)"/>).
/// </para>
/// <para>
/// An operation that commits or rolls back <see cref="Transaction"/> itself anyway leaves what it wrote before that
/// committed or gone without the key's record, and the key unlocked from then on (under Read Committed).
/// <see cref="CompleteAsync"/> then commits the record in a new transaction, so that a retry replays instead of running
/// again; after an operation that then failed, <see cref="TryRollBackAsync"/> keeps the key for an "outcome unknown"
/// record instead of releasing it. One that begins a transaction of its own on <see cref="Connection"/> after ending the
/// unit's cannot be told apart from the unit's (Npgsql hands out the same transaction object): its work commits with the
/// record, or, when it fails, rolls back and releases the key while what it committed before stays.
/// </para>
/// <para>
/// The claim writes nothing: it takes an advisory lock on the key without waiting and then reads the key's committed
/// record. While this unit of work holds the lock no other transactional claim of the key can run, so a concurrent
/// duplicate answers "in flight" (or replays a committed record) at once, and never waits on this one. Leases play no
/// part while the original runs: the lock lasts exactly as long as its transaction.
/// </para>
/// <para>
/// The read must see everything the lock's previous holder committed. Under Read Committed every statement takes a
/// new snapshot, so the lock is transaction-scoped and taken inside the transaction, with its BEGIN. Under Repeatable
/// Read and Serializable the first statement's snapshot serves the whole transaction, and it would be taken before the
/// lock is granted; so at every level but Read Committed (and Read Uncommitted, which PostgreSQL runs as Read
/// Committed) the lock is session-scoped and taken, and the record read, before the transaction begins. That lock is let
/// go of in the completion's round trip, right after COMMIT, or when the unit of work is disposed.
/// </para>
/// </remarks>
public sealed partial class PostgreSqlIdempotencyUnitOfWork : IIdempotencyUnitOfWorkStore
{
    /// <summary>Gets the store's name in telemetry: <c>postgresqltransactional</c>, the name the transactional mode has always had.</summary>
    public string Name => "postgresqltransactional";

    private const string BeginOperation = "begin the unit of work's transaction";
    private const string ClaimOperation = "claim a key in the unit of work's transaction";
    private const string CompleteOperation = "store the outcome in the unit of work's transaction";
    private const string CommitOperation = "commit the unit of work's transaction";
    private const string UnlockOperation = "let go of the key's session lock";
    private const string CompleteAfterEndedOperation =
        "store the outcome after the operation ended the unit of work's transaction itself (what the operation committed stays, and the key is kept for an 'outcome unknown' record)";

    private readonly PostgreSqlStoreSql _sql;
    private readonly NpgsqlConnection _connection;
    private readonly bool _locksBeforeTheTransaction;
    private readonly ILogger _logger;
    private NpgsqlTransaction? _transaction;
    private IdempotencyClaimRequest? _claim;
    private SessionLock _sessionLock;
    private string? _sessionLockKey;
    private bool _claimed;
    private bool _ended;
    private bool _disposed;
    private bool _endedByOperation; // the operation committed or rolled back the unit's transaction itself
    private bool _failedAfterEndingTransaction; // TryRollBackAsync kept the claim for an "outcome unknown" record
    private bool _completionFailed; // the unit's own completion failed: its COMMIT, not the operation, may have ended the transaction

    private PostgreSqlIdempotencyUnitOfWork(
        PostgreSqlStoreSql sql, NpgsqlConnection connection, NpgsqlTransaction? transaction, IsolationLevel isolationLevel, ILogger logger)
    {
        _sql = sql;
        _connection = connection;
        _transaction = transaction;
        IsolationLevel = isolationLevel;
        _locksBeforeTheTransaction = transaction is null;
        _logger = logger;
    }

    /// <summary>Whether this unit of work holds the key's session-level lock (only at snapshot isolation levels).</summary>
    private enum SessionLock
    {
        NotHeld,

        /// <summary>Held once: one <c>pg_advisory_unlock</c> lets go of it.</summary>
        Held,

        /// <summary>A claim failed midway: the lock may or may not be held; <c>pg_advisory_unlock_all()</c> lets go of it at disposal.</summary>
        Unknown,
    }

    /// <summary>
    /// Whether every statement of a transaction at <paramref name="isolationLevel"/> takes a snapshot of its own (Read
    /// Committed; PostgreSQL runs Read Uncommitted as Read Committed). Any other level, including one left to the
    /// server's default, gets the lock before its transaction begins.
    /// </summary>
    internal static bool SnapshotPerStatement(IsolationLevel isolationLevel) =>
        isolationLevel is IsolationLevel.ReadCommitted or IsolationLevel.ReadUncommitted;

    /// <summary>Gets the isolation level of the unit of work's transaction.</summary>
    public IsolationLevel IsolationLevel { get; }

    /// <summary>
    /// Gets whether this unit of work holds the claim of its key: from a <see cref="ClaimAsync"/> that returned
    /// <see cref="ClaimStatus.Claimed"/> until disposal. Only then are <see cref="Connection"/> and
    /// <see cref="Transaction"/> available.
    /// </summary>
    public bool IsClaimed => _claimed && !_disposed;

    internal bool IsDisposed => _disposed;

    /// <summary>Gets the unit of work's open connection, once its key is claimed.</summary>
    /// <exception cref="InvalidOperationException">The key is not claimed, or the unit of work was disposed.</exception>
    public NpgsqlConnection Connection => IsClaimed ? _connection : throw NotClaimed();

    /// <summary>
    /// Gets the unit of work's transaction, once its key is claimed; pass it to every command of the operation's work
    /// (with Dapper, <c>transaction: unitOfWork.Transaction</c>).
    /// </summary>
    /// <exception cref="InvalidOperationException">The key is not claimed, or the unit of work was disposed.</exception>
    public NpgsqlTransaction Transaction => IsClaimed ? _transaction! : throw NotClaimed();

    internal static async ValueTask<PostgreSqlIdempotencyUnitOfWork> BeginAsync(
        PostgreSqlIdempotencyDatabase database, IsolationLevel isolationLevel, ILogger logger, CancellationToken cancellationToken)
    {
        NpgsqlConnection? connection = null;
        try
        {
            connection = await database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);

            // Npgsql sends the BEGIN with the next statement: under Read Committed, the claim's.
            var transaction = SnapshotPerStatement(isolationLevel)
                ? await connection.BeginTransactionAsync(isolationLevel, cancellationToken).ConfigureAwait(false)
                : null;
            return new PostgreSqlIdempotencyUnitOfWork(database.Sql, connection, transaction, isolationLevel, logger);
        }
        catch (Exception ex) when (PostgreSqlStoreErrors.IsStoreFault(ex))
        {
            if (connection is not null)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }

            throw PostgreSqlStoreErrors.Wrap(ex, BeginOperation, database.Sql);
        }
    }

    /// <summary>
    /// Claims the key in the unit of work: takes the key's advisory lock without waiting and reads its committed record.
    /// A concurrent unit of work on the same key gets <see cref="ClaimStatus.InFlight"/> at once; a key whose record is
    /// committed gets <see cref="ClaimStatus.Completed"/> (with the stored outcome) or
    /// <see cref="ClaimStatus.FingerprintMismatch"/>.
    /// </summary>
    /// <param name="request">The claim.</param>
    /// <param name="cancellationToken">Cancels the claim.</param>
    /// <returns>The claim's result; on <see cref="ClaimStatus.Claimed"/>, <see cref="Connection"/> and <see cref="Transaction"/> become available.</returns>
    /// <exception cref="IdempotencyStoreException">The database could not be reached or failed.</exception>
    public async ValueTask<IdempotencyClaimResult> ClaimAsync(IdempotencyClaimRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ObjectDisposedException.ThrowIf(_disposed, this);
        try
        {
            var claim = _locksBeforeTheTransaction
                ? await ClaimBeforeTheTransactionAsync(request, cancellationToken).ConfigureAwait(false)
                : await PostgreSqlStoreCommands.ClaimInTransactionAsync(_connection, _transaction!, _sql, request, cancellationToken).ConfigureAwait(false);
            if (claim.Status == ClaimStatus.Claimed)
            {
                _claim = request;
                _claimed = true;
            }

            return claim;
        }
        catch (Exception ex) when (PostgreSqlStoreErrors.IsStoreFault(ex))
        {
            throw Fault(ex, ClaimOperation);
        }
    }

    /// <summary>
    /// Writes the completed record and commits it together with the work done in <see cref="Transaction"/>, in one
    /// round trip. Hold the operation's outcome back until this returns <see cref="CompletionStatus.Completed"/>.
    /// </summary>
    /// <param name="request">The completion, with the owner token of the claim.</param>
    /// <param name="cancellationToken">Cancels the completion.</param>
    /// <returns>
    /// <see cref="CompletionStatus.Completed"/> when the record and the work committed; <see cref="CompletionStatus.ClaimLost"/>
    /// when this unit of work does not hold the claim (or it ended), in which case nothing of it was committed.
    /// </returns>
    /// <exception cref="IdempotencyStoreException">
    /// The commit failed: nothing was committed, unless the commit itself failed in flight; a retry of the operation is
    /// safe either way (it replays what committed, or runs again).
    /// </exception>
    public async ValueTask<CompletionStatus> CompleteAsync(IdempotencyCompleteRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (_ended || _claim is null || _transaction is null || !string.Equals(_claim.OwnerToken, request.OwnerToken, StringComparison.Ordinal))
        {
            return CompletionStatus.ClaimLost;
        }

        if (_endedByOperation)
        {
            return await CompleteAfterOperationEndedTransactionAsync(request, cancellationToken).ConfigureAwait(false);
        }

        try
        {
            // The one moment that decides: the record, the handler's changes and the response commit together here.
            var unlock = _sessionLock == SessionLock.Held;
            await PostgreSqlStoreCommands.CompleteAndCommitAsync(_connection, _transaction, _sql, _claim, request, unlock, cancellationToken).ConfigureAwait(false);
            _ended = true;
            if (unlock)
            {
                _sessionLock = SessionLock.NotHeld;
            }

            return CompletionStatus.Completed;
        }
        catch (InvalidOperationException) when (HasEnded(_transaction))
        {
            // Npgsql refused the batch before sending anything: the operation committed or rolled back the transaction
            // itself, against the docs. Checked only here, so that the usual completion costs nothing more.
            _endedByOperation = true;
            return await CompleteAfterOperationEndedTransactionAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (PostgresException ex) when (PostgreSqlStoreCommands.IsClaimedElsewhere(ex, _sql))
        {
            // A plain store claim took the key during this transaction: nothing of this unit of work commits.
            LogClaimedElsewhere();
            await RollBackAsync().ConfigureAwait(false);
            return CompletionStatus.ClaimLost;
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.InFailedSqlTransaction)
        {
            _completionFailed = true;
            LogTransactionAborted(ex);
            throw new IdempotencyStoreException(
                "The PostgreSQL idempotency transaction was aborted by an earlier error in the operation's work, so neither its changes nor its " +
                "outcome can be committed; everything was rolled back. To recover from a database error inside the operation, run " +
                "the failing statement in a savepoint (NpgsqlTransaction.SaveAsync / RollbackAsync(name)).",
                ex);
        }
        catch (Exception ex) when (PostgreSqlStoreErrors.IsStoreFault(ex))
        {
            // Committed or not, a retry is safe: it replays what committed, or runs again if nothing did.
            _completionFailed = true;
            throw Fault(ex, ex is PostgresException { BatchCommand.CommandText: "COMMIT" } ? CommitOperation : CompleteOperation);
        }
    }

    /// <summary>Rolls the unit of work back: neither its work nor the record of its key is committed.</summary>
    /// <param name="key">The claimed key.</param>
    /// <param name="ownerToken">The owner token of the claim.</param>
    /// <param name="cancellationToken">Not used: the rollback always runs.</param>
    /// <returns>Whether this unit of work held the claim and had not ended.</returns>
    public async ValueTask<bool> ReleaseAsync(string key, string ownerToken, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(ownerToken);
        var owned = !_ended && string.Equals(_claim?.OwnerToken, ownerToken, StringComparison.Ordinal);
        await RollBackAsync().ConfigureAwait(false);
        return owned;
    }

    /// <summary>
    /// Rolls the unit of work back after its operation failed, as <see cref="ReleaseAsync"/> does, unless the operation
    /// committed or rolled back <see cref="Transaction"/> itself: what it wrote before that may be committed (and what it
    /// wrote after, outside any transaction, is), beyond recall. Then the claim is kept and <see langword="false"/> is
    /// returned: the engine completes the key as "outcome unknown" (<see cref="CompleteAsync"/> commits that record alone,
    /// in a new transaction), so that a retry is told so instead of running the operation again.
    /// </summary>
    /// <param name="key">The claimed key.</param>
    /// <param name="ownerToken">The owner token of the claim.</param>
    /// <param name="cancellationToken">Not used: the rollback always runs.</param>
    /// <returns><see langword="true"/> when everything was rolled back; <see langword="false"/> when the claim is kept.</returns>
    public async ValueTask<bool> TryRollBackAsync(string key, string ownerToken, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(ownerToken);
        if (_ended || _transaction is null || !string.Equals(_claim?.OwnerToken, ownerToken, StringComparison.Ordinal)
            || !(_endedByOperation || (!_completionFailed && HasEnded(_transaction))))
        {
            await ReleaseAsync(key, ownerToken, cancellationToken).ConfigureAwait(false);
            return true;
        }

        // The operation ended the unit's transaction itself (against the docs) and then failed. A rollback can no longer
        // undo what it committed, and releasing the key would let a retry run it again over that.
        LogOperationFailedAfterEndingTransaction();
        _endedByOperation = true;
        _failedAfterEndingTransaction = true;
        await RollBackKeepingTheClaimAsync().ConfigureAwait(false);
        return false;
    }

    /// <summary>
    /// Ends the unit of work: rolls it back unless it completed, lets go of the key's lock and returns the connection
    /// to the pool. Call it whatever the operation's outcome.
    /// </summary>
    /// <returns>A task that completes when the connection is returned.</returns>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await RollBackAsync().ConfigureAwait(false);
        await UnlockSessionAsync().ConfigureAwait(false);
        if (_transaction is not null)
        {
            await _transaction.DisposeAsync().ConfigureAwait(false);
        }

        await _connection.DisposeAsync().ConfigureAwait(false);
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
            _connection, _sql, request, lockHeld: before == SessionLock.Held, cancellationToken).ConfigureAwait(false);
        if (before == SessionLock.NotHeld)
        {
            _sessionLock = locked ? SessionLock.Held : SessionLock.NotHeld;
        }

        if (claim.Status == ClaimStatus.Claimed && _transaction is null)
        {
            _transaction = await _connection.BeginTransactionAsync(IsolationLevel, cancellationToken).ConfigureAwait(false);
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
                await _transaction.RollbackAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex) when (PostgreSqlStoreErrors.IsStoreFault(ex) || ex is InvalidOperationException)
            {
                // A broken connection: the server rolls the transaction back when it loses the connection.
                LogRollbackFailed(ex);
            }
        }
    }

    // After the operation ended the unit's transaction itself: what it committed stays, and the statements it ran after
    // that committed one by one. The record commits in a new transaction, so that a retry replays the operation's
    // outcome instead of running it over what is committed. A failure keeps the claim (only the record is lost), so
    // that TryRollBackAsync answers false and the key completes as "outcome unknown" rather than being released.
    private async ValueTask<CompletionStatus> CompleteAfterOperationEndedTransactionAsync(IdempotencyCompleteRequest request, CancellationToken cancellationToken)
    {
        if (!_failedAfterEndingTransaction)
        {
            LogTransactionEndedByOperation();
        }

        try
        {
            if (HasEnded(_transaction!))
            {
                // No round trip: Npgsql sends the BEGIN with the completion's batch.
                _transaction = await _connection.BeginTransactionAsync(IsolationLevel, CancellationToken.None).ConfigureAwait(false);
            }

            var unlock = _sessionLock == SessionLock.Held;
            await PostgreSqlStoreCommands.CompleteAndCommitAsync(_connection, _transaction!, _sql, _claim!, request, unlock, cancellationToken).ConfigureAwait(false);
            _ended = true;
            if (unlock)
            {
                _sessionLock = SessionLock.NotHeld;
            }

            return CompletionStatus.Completed;
        }
        catch (PostgresException ex) when (PostgreSqlStoreCommands.IsClaimedElsewhere(ex, _sql))
        {
            // Since the operation's commit unlocked the key, another caller claimed it: its record stays.
            LogClaimedElsewhere();
            await RollBackAsync().ConfigureAwait(false);
            return CompletionStatus.ClaimLost;
        }
        catch (Exception ex) when (PostgreSqlStoreErrors.IsStoreFault(ex) || ex is InvalidOperationException)
        {
            await RollBackKeepingTheClaimAsync().ConfigureAwait(false);
            throw Fault(ex, CompleteAfterEndedOperation);
        }
    }

    private async Task RollBackKeepingTheClaimAsync()
    {
        if (_transaction is null || HasEnded(_transaction))
        {
            return;
        }

        try
        {
            await _transaction.RollbackAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (PostgreSqlStoreErrors.IsStoreFault(ex) || ex is InvalidOperationException)
        {
            LogRollbackFailed(ex);
        }
    }

    // Npgsql exposes no IsCompleted, and a committed transaction keeps its Connection: once committed or rolled back, its
    // members throw InvalidOperationException. A disposed one (ObjectDisposedException) is left to the usual rollback and
    // release, as before. Only called off the usual path: after the completion's batch was refused, or after the
    // operation failed.
    private static bool HasEnded(NpgsqlTransaction transaction)
    {
        try
        {
            _ = transaction.IsolationLevel;
            return false;
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return true;
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
            await PostgreSqlStoreCommands.UnlockSessionAsync(_connection, _sql, key, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (PostgreSqlStoreErrors.IsStoreFault(ex) || ex is InvalidOperationException)
        {
            LogUnlockFailed(ex, UnlockOperation);
        }
    }

    private static InvalidOperationException NotClaimed() => new(
        "The unit of work's connection and transaction are available only while it holds the claim of its key: call ClaimAsync " +
        "first, and use them only if it returned ClaimStatus.Claimed and before the unit of work is disposed.");

    private IdempotencyStoreException Fault(Exception exception, string operation)
    {
        LogStoreFault(operation, StoreFaultDescription.Describe(exception, _claim?.Key ?? string.Empty));
        LogStoreFaultDetail(exception, operation);
        return PostgreSqlStoreErrors.Wrap(exception, operation, _sql);
    }
}
