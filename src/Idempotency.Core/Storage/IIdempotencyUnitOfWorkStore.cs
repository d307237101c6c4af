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
/// </remarks>
public interface IIdempotencyUnitOfWorkStore : IIdempotencyStore, IAsyncDisposable;
