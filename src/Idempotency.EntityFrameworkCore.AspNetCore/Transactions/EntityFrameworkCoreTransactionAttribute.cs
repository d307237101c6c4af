using Idempotency.AspNetCore.Deduplication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Idempotency.EntityFrameworkCore;

/// <summary>
/// Runs keyed requests to the endpoint in one transaction on the application's <c>DbContext</c> (the one given to
/// <c>AddIdempotency().UseEntityFrameworkCore&lt;TContext&gt;()</c>): the claim of the key, the entity changes the handler
/// makes on the request's context and the stored response commit together, or none of them does. The same as
/// <c>.WithEntityFrameworkCoreTransaction()</c>.
/// </summary>
/// <remarks>
/// Use it together with <see cref="RequireIdempotencyAttribute"/>: a request without a key runs without a transaction.
/// The handler injects the context as usual (it is the request's scoped instance) and may call <c>SaveChangesAsync</c>
/// or leave that to the completion. The context must not use an execution strategy that retries on failure
/// (<c>EnableRetryOnFailure</c>): a retry of single commands cannot work in a transaction that spans the handler, so such
/// requests are answered 503 and the reason is logged; a client's retry of a failed request is safe instead.
/// </remarks>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, AllowMultiple = false, Inherited = true)]
public sealed class EntityFrameworkCoreTransactionAttribute : Attribute, IIdempotencyRequestStoreProvider
{
    /// <inheritdoc />
    public async ValueTask<IIdempotencyUnitOfWorkStore> CreateStoreAsync(HttpContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var factory = context.RequestServices.GetService<EntityFrameworkCoreIdempotencyUnitOfWorkFactory>()
            ?? throw new InvalidOperationException(
                "The endpoint runs in an EF Core idempotency transaction, but no DbContext is registered for it. Call " +
                "services.AddIdempotency().UseEntityFrameworkCore<TContext>() with the context that holds the endpoint's entities.");
        return await factory.BeginAsync(context.RequestServices, cancellationToken);
    }
}
