namespace Idempotency.AspNetCore.Deduplication;

/// <summary>
/// A store bound to one request whose records commit together with the request's own unit of work.
/// </summary>
/// <remarks>
/// <para>
/// The middleware holds the whole response back while the handler runs, calls
/// <see cref="IIdempotencyStore.CompleteAsync"/> (which must commit the record and the handler's work together),
/// and only then sends the response. When the completion does not return <see cref="CompletionStatus.Completed"/>
/// or throws, nothing may have been committed: the middleware discards the response and answers 503, so the client
/// retries.
/// </para>
/// <para>
/// <see cref="IIdempotencyStore.ReleaseAsync"/> and <see cref="IAsyncDisposable.DisposeAsync"/> without a completion
/// must roll everything back.
/// </para>
/// </remarks>
public interface IIdempotencyRequestStore : IIdempotencyUnitOfWorkStore;
