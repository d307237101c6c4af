using Microsoft.AspNetCore.Http;

namespace Idempotency.AspNetCore.Deduplication;

/// <summary>
/// Endpoint metadata that replaces the application's <see cref="IIdempotencyStore"/> with a store bound to one
/// request's unit of work, for stores whose records commit together with the handler's own work (the PostgreSQL
/// transactional mode). Store bindings add it through their own endpoint conventions.
/// </summary>
public interface IIdempotencyRequestStoreProvider
{
    /// <summary>
    /// Creates the store that serves one request. The middleware (or the gRPC interceptor, for a gRPC call) disposes it
    /// when the request ends.
    /// </summary>
    /// <param name="context">The request.</param>
    /// <param name="cancellationToken">Cancels creating the store.</param>
    /// <returns>The request's store, bound to the request's unit of work.</returns>
    ValueTask<IIdempotencyUnitOfWorkStore> CreateStoreAsync(HttpContext context, CancellationToken cancellationToken);
}
