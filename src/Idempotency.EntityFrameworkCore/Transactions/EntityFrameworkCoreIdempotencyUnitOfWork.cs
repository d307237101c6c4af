using System.Data;
using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.Logging;

namespace Idempotency.EntityFrameworkCore;

/// <summary>
/// One unit of work on an application's own <see cref="DbContext"/>: a store whose record of the key commits together
/// with the context's entity changes. It begins a transaction on the context's connection; <see cref="ClaimAsync"/>
/// locks the key in it; the operation then changes entities on <see cref="Context"/> (calling <c>SaveChangesAsync</c> or
/// not); <see cref="CompleteAsync"/> saves the pending changes, writes the completed record and commits, so the key
/// record, the entity changes and the stored outcome commit together, or none of them does. A release, an exception or a
/// disposal without completion rolls everything back, and so does a crash.
/// </summary>
/// <remarks>
/// <para>
/// The claim writes nothing: it takes a lock on the key for the transaction without waiting, then reads the key's
/// committed record. A concurrent duplicate gets <see cref="ClaimStatus.InFlight"/> at once and never waits. The
/// transaction runs at Read Committed, where every statement takes a snapshot of its own, so the read sees everything the
/// lock's previous holder committed.
/// </para>
/// <para>
/// A rollback also clears <see cref="Context"/>'s change tracker, so that entity changes that were not committed are
/// never saved later by accident. Do not commit or roll back the context's transaction yourself: what was saved
/// before that is committed or gone without the key's record (<see cref="CompleteAsync"/> then commits the rest and the
/// record in a new transaction, so that a retry replays instead of running again; after an operation that then failed,
/// <see cref="TryRollBackAsync"/> keeps the key for an "outcome unknown" record instead of releasing it).
/// </para>
/// <para>
/// An execution strategy that retries (<c>EnableRetryOnFailure</c>) retries single commands, which cannot work inside a
/// transaction that spans the operation: begin the unit of work inside <c>Database.CreateExecutionStrategy().ExecuteAsync</c>
/// (as <see cref="EntityFrameworkCoreIdempotentExecutor{TContext}"/> does), or beginning it throws.
/// </para>
/// </remarks>
public sealed partial class EntityFrameworkCoreIdempotencyUnitOfWork : IIdempotencyUnitOfWorkStore
{
    private const string BeginOperation = "begin the unit of work's transaction";
    private const string ClaimOperation = "claim a key in the unit of work's transaction";
    private const string CompleteOperation = "store the outcome in the unit of work's transaction";
    private const string CommitOperation = "commit the unit of work's transaction";

    private readonly IIdempotencyRecordsSql _sql;
    private readonly IdempotencyRecordsTable _table;
    private IDbContextTransaction _transaction; // replaced only when the operation ended it itself (CompleteAsync)
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private IdempotencyClaimRequest? _claim;
    private bool _ended;
    private bool _disposed;
    private bool _failedAfterEndingTransaction; // TryRollBackAsync kept the claim for an "outcome unknown" record

    private EntityFrameworkCoreIdempotencyUnitOfWork(
        DbContext context, IIdempotencyRecordsSql sql, IdempotencyRecordsTable table, IDbContextTransaction transaction, TimeProvider timeProvider, ILogger logger)
    {
        Context = context;
        _sql = sql;
        _table = table;
        _transaction = transaction;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>Gets the store's name in telemetry: <c>efcore</c>.</summary>
    public string Name => "efcore";

    /// <summary>Gets the context whose transaction this unit of work runs; change entities on it once the key is claimed.</summary>
    public DbContext Context { get; }

    /// <summary>Gets whether this unit of work holds the claim of its key: from a claim that returned <see cref="ClaimStatus.Claimed"/> until it ends.</summary>
    public bool IsClaimed => _claim is not null && !_ended && !_disposed;

    internal static async Task<EntityFrameworkCoreIdempotencyUnitOfWork> BeginAsync(
        DbContext context, TimeProvider timeProvider, ILogger logger, CancellationToken cancellationToken)
    {
        var (sql, table) = Describe(context);
        if (context.Database.CurrentTransaction is not null)
        {
            throw new InvalidOperationException(
                $"The {context.GetType().Name} already has a transaction. An idempotency unit of work begins the context's transaction itself, so " +
                "that the claim of the key, the entity changes and the stored outcome commit together: begin it before any other transaction, on a context that has none.");
        }

        var strategy = context.Database.CreateExecutionStrategy();
        if (strategy.RetriesOnFailure)
        {
            throw new InvalidOperationException(
                $"The {context.GetType().Name} uses an execution strategy that retries on failure ({strategy.GetType().Name}, from EnableRetryOnFailure or Aspire's " +
                "defaults), which cannot retry single commands of a transaction that spans the whole operation. Run the whole unit of work (begin, claim, the " +
                "operation, completion) inside context.Database.CreateExecutionStrategy().ExecuteAsync(...), as EntityFrameworkCoreIdempotentExecutor<TContext> " +
                "does for message handlers; for HTTP endpoints (.WithEntityFrameworkCoreTransaction()), register the context without a retrying strategy " +
                "(no EnableRetryOnFailure, or Aspire's DisableRetry = true): a failed request answers 503 and the client's retry is safe.");
        }

        try
        {
            var transaction = await context.Database.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken).ConfigureAwait(false);
            return new EntityFrameworkCoreIdempotencyUnitOfWork(context, sql, table, transaction, timeProvider, logger);
        }
        catch (DbException ex)
        {
            throw new IdempotencyStoreException($"The EF Core idempotency unit of work could not {BeginOperation}: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// The unit of work's SQL and table for <paramref name="context"/>; throws when the provider is not supported or the
    /// model does not map the records table.
    /// </summary>
    internal static (IIdempotencyRecordsSql Sql, IdempotencyRecordsTable Table) Describe(DbContext context)
    {
        var provider = context.Database.ProviderName;
        IIdempotencyRecordsSql sql = provider switch
        {
            PostgreSqlIdempotencyRecordsSql.ProviderName => PostgreSqlIdempotencyRecordsSql.Instance,
            _ => throw new NotSupportedException(
                $"The EF Core idempotency unit of work does not support the provider '{provider ?? "(none)"}' of {context.GetType().Name} yet: it supports " +
                $"PostgreSQL ({PostgreSqlIdempotencyRecordsSql.ProviderName}). docs/efcore.md says which statements another provider needs."),
        };
        var entityType = context.Model.FindEntityType(typeof(IdempotencyRecordRow))
            ?? throw new InvalidOperationException(
                $"The model of {context.GetType().Name} does not map the idempotency records table. Call modelBuilder.AddIdempotencyRecords() in its " +
                "OnModelCreating, then add a migration (or let Database.EnsureCreated() create it).");
        return (sql, new IdempotencyRecordsTable(entityType.GetSchema(), entityType.GetTableName()!));
    }

    /// <summary>
    /// Claims the key in the unit of work's transaction: locks it without waiting and reads its committed record. A
    /// concurrent unit of work on the same key gets <see cref="ClaimStatus.InFlight"/> at once; a key whose record is
    /// committed gets <see cref="ClaimStatus.Completed"/> (with the stored outcome) or <see cref="ClaimStatus.FingerprintMismatch"/>.
    /// </summary>
    /// <param name="request">The claim.</param>
    /// <param name="cancellationToken">Cancels the claim.</param>
    /// <returns>The claim's result.</returns>
    /// <exception cref="IdempotencyStoreException">The database could not be reached or failed.</exception>
    public async ValueTask<IdempotencyClaimResult> ClaimAsync(IdempotencyClaimRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_ended)
        {
            throw new InvalidOperationException("The unit of work has ended (completed or rolled back); begin a new one.");
        }

        try
        {
            var command = _sql.CreateClaim(Context.Database.GetDbConnection(), _table, request);
            await using var commandDisposal = command.ConfigureAwait(false);
            Prepare(command);
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using var readerDisposal = reader.ConfigureAwait(false);
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var locked = reader.GetBoolean(0);
            await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
            if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return (ClaimStatus)reader.GetInt32(0) switch
                {
                    ClaimStatus.Completed => IdempotencyClaimResult.Completed(reader.IsDBNull(1) ? [] : reader.GetFieldValue<byte[]>(1)),
                    ClaimStatus.InFlight => IdempotencyClaimResult.InFlight(TimeSpan.FromMilliseconds(Math.Max(0, reader.GetDouble(2)))),
                    _ => IdempotencyClaimResult.FingerprintMismatch(),
                };
            }

            if (!locked)
            {
                // Another transaction runs this key and has committed nothing yet.
                return IdempotencyClaimResult.InFlight(request.LeaseDuration);
            }

            // The lease plays no part: the key is this unit of work's for as long as its transaction lasts.
            _claim = request;
            return IdempotencyClaimResult.Claimed(_timeProvider.GetUtcNow() + request.LeaseDuration);
        }
        catch (DbException ex)
        {
            throw Fault(ex, ClaimOperation, request.Key);
        }
    }

    /// <summary>
    /// Saves the context's pending changes, writes the completed record and commits them together. Hold the operation's
    /// outcome back until this returns <see cref="CompletionStatus.Completed"/>.
    /// </summary>
    /// <param name="request">The completion, with the owner token of the claim.</param>
    /// <param name="cancellationToken">Cancels the completion.</param>
    /// <returns>
    /// <see cref="CompletionStatus.Completed"/> when everything committed; <see cref="CompletionStatus.ClaimLost"/> when this
    /// unit of work does not hold the claim (or it ended), in which case nothing of it was committed.
    /// </returns>
    /// <exception cref="IdempotencyStoreException">
    /// Saving or committing failed: nothing was committed, unless the commit itself failed in flight; a retry of the
    /// operation is safe either way (it replays what committed, or runs again).
    /// </exception>
    public async ValueTask<CompletionStatus> CompleteAsync(IdempotencyCompleteRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!IsClaimed || !string.Equals(_claim!.OwnerToken, request.OwnerToken, StringComparison.Ordinal))
        {
            return CompletionStatus.ClaimLost;
        }

        var endedByOperation = !ReferenceEquals(Context.Database.CurrentTransaction, _transaction);
        if (endedByOperation)
        {
            // The operation committed or rolled back the context's transaction itself, against the docs. What it saved
            // before is committed or gone, beyond recall. Saved now without a transaction, the pending changes would
            // commit one by one and the record would never be written: the client, told to retry, would run the
            // operation again over what is committed. So the pending changes and the record commit together in a new
            // transaction (or the one the operation began), and a retry replays the operation's response.
            if (!_failedAfterEndingTransaction)
            {
                LogTransactionEndedByOperation();
            }

            try
            {
                // The old transaction is not disposed: it has ended, and its disposal would detach the context's new one.
                _transaction = Context.Database.CurrentTransaction
                    ?? await Context.Database.BeginTransactionAsync(IsolationLevel.ReadCommitted, CancellationToken.None).ConfigureAwait(false);
            }
            catch (DbException ex)
            {
                // The claim is kept (see KeepClaimIfEndedByOperation): what the operation committed stays.
                Context.ChangeTracker.Clear();
                throw Fault(ex, BeginOperation, _claim.Key);
            }
        }

        try
        {
            await Context.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is DbUpdateException or DbException)
        {
            LogSaveChangesFailed(StoreFaultDescription.Describe(ex, _claim.Key));
            await RollBackAsync().ConfigureAwait(false);
            KeepClaimIfEndedByOperation(endedByOperation);
            throw new IdempotencyStoreException(
                (endedByOperation
                    ? "SaveChanges failed while the idempotency unit of work completed, so the rest of the operation was not committed (what it committed itself, " +
                      "ending the unit's transaction, stays). "
                    : "SaveChanges failed while the idempotency unit of work completed, so nothing of the operation was committed ") +
                "(on PostgreSQL, a database error earlier in the operation aborts the whole transaction; run statements whose errors the operation handles in a savepoint).",
                ex);
        }

        var operation = CompleteOperation;
        try
        {
            var command = _sql.CreateComplete(Context.Database.GetDbConnection(), _table, _claim.Fingerprint, request);
            await using (command.ConfigureAwait(false))
            {
                Prepare(command);
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            // The one moment that decides: the record, the entity changes and the outcome commit together here.
            operation = CommitOperation;
            _ended = true;
            await _transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return CompletionStatus.Completed;
        }
        catch (DbException ex) when (operation == CompleteOperation && _sql.IsClaimedElsewhere(ex))
        {
            LogClaimedElsewhere();
            await RollBackAsync().ConfigureAwait(false);
            return CompletionStatus.ClaimLost;
        }
        catch (Exception ex) when (ex is DbException or InvalidOperationException)
        {
            _ended = false;
            await RollBackAsync().ConfigureAwait(false);
            KeepClaimIfEndedByOperation(endedByOperation);
            throw Fault(ex, operation, _claim.Key);
        }
    }

    // After the operation ended the unit's transaction itself, a failed completion rolls back only the rest: what the
    // operation committed stays. The claim is kept, so that TryRollBackAsync answers false and the key completes as
    // "outcome unknown" instead of being released for a retry that would run the operation again over it.
    private void KeepClaimIfEndedByOperation(bool endedByOperation)
    {
        if (endedByOperation)
        {
            _ended = false;
        }
    }

    /// <summary>Rolls the unit of work back: neither its entity changes nor the record of its key is committed.</summary>
    /// <param name="key">The claimed key.</param>
    /// <param name="ownerToken">The owner token of the claim.</param>
    /// <param name="cancellationToken">Not used: the rollback always runs.</param>
    /// <returns>Whether this unit of work held the claim and had not ended.</returns>
    public async ValueTask<bool> ReleaseAsync(string key, string ownerToken, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(ownerToken);
        var owned = IsClaimed && string.Equals(_claim!.OwnerToken, ownerToken, StringComparison.Ordinal);
        await RollBackAsync().ConfigureAwait(false);
        return owned;
    }

    /// <summary>
    /// Rolls the unit of work back after its operation failed, as <see cref="ReleaseAsync"/> does, unless the operation
    /// committed or rolled back the context's transaction itself: what it saved before that may be committed (and what it
    /// saved after, outside any transaction, is), beyond recall. Then the change tracker is cleared and any transaction
    /// the operation began is rolled back (nothing more of the failed operation is kept), the claim is kept and
    /// <see langword="false"/> is returned: the engine completes the key as "outcome unknown" (<see cref="CompleteAsync"/>
    /// commits that record alone, in a new transaction), so that a retry is told so instead of running the operation again.
    /// </summary>
    /// <param name="key">The claimed key.</param>
    /// <param name="ownerToken">The owner token of the claim.</param>
    /// <param name="cancellationToken">Not used: the rollback always runs.</param>
    /// <returns><see langword="true"/> when everything was rolled back; <see langword="false"/> when the claim is kept.</returns>
    public async ValueTask<bool> TryRollBackAsync(string key, string ownerToken, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(ownerToken);
        if (!IsClaimed || !string.Equals(_claim!.OwnerToken, ownerToken, StringComparison.Ordinal)
            || ReferenceEquals(Context.Database.CurrentTransaction, _transaction))
        {
            await ReleaseAsync(key, ownerToken, cancellationToken).ConfigureAwait(false);
            return true;
        }

        // The operation ended the unit's transaction itself (against the docs) and then failed. A rollback can no longer
        // undo what it committed, and releasing the key would let a retry run it again over that.
        LogOperationFailedAfterEndingTransaction();
        if (Context.Database.CurrentTransaction is { } begunByOperation)
        {
            try
            {
                await begunByOperation.RollbackAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is DbException or InvalidOperationException)
            {
                LogRollbackFailed(ex);
            }

            await begunByOperation.DisposeAsync().ConfigureAwait(false);
        }

        // The failed operation's pending changes are not its outcome: only the record commits.
        Context.ChangeTracker.Clear();
        _failedAfterEndingTransaction = true;
        return false;
    }

    /// <summary>Ends the unit of work: rolls it back unless it completed, and ends the context's transaction. Call it whatever the outcome.</summary>
    /// <returns>A task that completes when the transaction has ended.</returns>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        await RollBackAsync().ConfigureAwait(false);
        _disposed = true;
        await _transaction.DisposeAsync().ConfigureAwait(false);
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
            await _transaction.RollbackAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is DbException or InvalidOperationException)
        {
            // A broken connection: the server rolls the transaction back when it loses the connection.
            LogRollbackFailed(ex);
        }

        // What was not committed must never be saved later by accident.
        Context.ChangeTracker.Clear();
    }

    private void Prepare(DbCommand command)
    {
        command.Transaction = _transaction.GetDbTransaction();
        if (Context.Database.GetCommandTimeout() is { } timeout)
        {
            command.CommandTimeout = timeout;
        }
    }

    private IdempotencyStoreException Fault(Exception exception, string operation, string key)
    {
        LogStoreFault(operation, StoreFaultDescription.Describe(exception, key));
        LogStoreFaultDetail(exception, operation);
        return new IdempotencyStoreException($"The EF Core idempotency unit of work could not {operation}: {exception.Message.TrimEnd('.')}.", exception);
    }
}
