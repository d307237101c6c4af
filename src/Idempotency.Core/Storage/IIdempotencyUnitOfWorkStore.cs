namespace Idempotency;

/// <summary>
/// A store bound to one unit of work (a database transaction, for example), whose record of the key commits together
/// with the operation's own work: both or neither. The PostgreSQL store's transactional mode is one.
/// </summary>
/// <remarks>
/// <para>
/// The caller (the ASP.NET Core middleware, a message handler, the executor) claims the key through
/// <see cref="IIdempotencyStore.ClaimAsync"/>, runs the operation's work in the unit of work, and holds the operation's
/// outcome back (the HTTP response, the message acknowledgement) until <see cref="IIdempotencyStore.CompleteAsync"/>
/// has committed the record and the work together. When the completion does not return
/// <see cref="CompletionStatus.Completed"/> or throws, nothing may have been committed: the caller discards the
/// outcome and lets the operation be retried (the middleware answers 503; a message is redelivered).
/// </para>
/// <para>
/// <see cref="IIdempotencyStore.ReleaseAsync"/>, and <see cref="IAsyncDisposable.DisposeAsync"/> without a completion,
/// roll everything back: neither the work nor the record is committed. The caller disposes the store when the
/// operation ends, whatever its outcome.
/// </para>
/// <para>
/// After the operation failed (it threw, or its outcome is not to be stored), the engine calls
/// <see cref="TryRollBackAsync"/> instead of <see cref="IIdempotencyStore.ReleaseAsync"/>, so that a unit of work whose
/// operation committed part of its work outside it (an EF Core or PostgreSQL handler that committed the unit's transaction itself)
/// can say that a rollback no longer undoes everything.
/// </para>
/// </remarks>
public interface IIdempotencyUnitOfWorkStore : IIdempotencyStore, IAsyncDisposable
{
    /// <summary>
    /// Rolls the unit of work back after its operation failed, as <see cref="IIdempotencyStore.ReleaseAsync"/> does,
    /// unless part of the operation's work has already committed outside the unit of work (the operation committed or
    /// ended the unit's transaction itself). Then it discards what the unit still holds of the failed operation, keeps
    /// the claim and returns <see langword="false"/>: the caller completes the key as "outcome unknown"
    /// (<see cref="IIdempotencyStore.CompleteAsync"/>, which then commits the record alone), so that a retry never runs
    /// the operation again over what committed.
    /// </summary>
    /// <param name="key">The claimed key.</param>
    /// <param name="ownerToken">The owner token of the claim.</param>
    /// <param name="cancellationToken">Cancels the call; a unit of work may ignore it, as its rollback always runs.</param>
    /// <returns>
    /// <see langword="true"/> when everything was rolled back and the key released (the default implementation calls
    /// <see cref="IIdempotencyStore.ReleaseAsync"/>); <see langword="false"/> when the claim is kept for an "outcome
    /// unknown" completion.
    /// </returns>
    async ValueTask<bool> TryRollBackAsync(string key, string ownerToken, CancellationToken cancellationToken)
    {
        await ReleaseAsync(key, ownerToken, cancellationToken).ConfigureAwait(false);
        return true;
    }
}
