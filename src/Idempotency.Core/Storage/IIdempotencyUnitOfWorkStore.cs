namespace Idempotency;

/// <summary>
/// A store bound to one unit of work (a database transaction) whose record commits together with the work's own
/// changes: the key, the effect and the stored outcome become durable in one commit, or none of them does.
/// </summary>
/// <remarks>
/// <para>
/// The caller holds the operation's outcome back while the work runs, calls <see cref="IIdempotencyStore.CompleteAsync"/>
/// (which must commit the record and the work together), and only then delivers the outcome. When the completion does
/// not return <see cref="CompletionStatus.Completed"/> or throws, nothing may have been committed: the caller discards
/// the outcome and reports a failure, so that the operation is retried. <see cref="IdempotencyEngine"/> does so for
/// every store of this type.
/// </para>
/// <para>
/// <see cref="IIdempotencyStore.ReleaseAsync"/>, and <see cref="IAsyncDisposable.DisposeAsync"/> without a completion,
/// must roll everything back.
/// </para>
/// </remarks>
public interface IIdempotencyUnitOfWorkStore : IIdempotencyStore, IAsyncDisposable;
