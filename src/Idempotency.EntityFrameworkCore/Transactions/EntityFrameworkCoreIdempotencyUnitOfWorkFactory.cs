using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Idempotency.EntityFrameworkCore;

/// <summary>
/// Begins units of work on the application's <see cref="DbContext"/>, registered by
/// <c>AddIdempotency().UseEntityFrameworkCore&lt;TContext&gt;()</c>. The HTTP binding
/// (Idempotency.EntityFrameworkCore.AspNetCore) begins one per keyed request; message handlers use
/// <see cref="EntityFrameworkCoreIdempotentExecutor{TContext}"/>, which begins one per delivery inside the context's
/// execution strategy.
/// </summary>
public sealed class EntityFrameworkCoreIdempotencyUnitOfWorkFactory
{
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;

    internal EntityFrameworkCoreIdempotencyUnitOfWorkFactory(Type contextType, TimeProvider timeProvider, ILogger<EntityFrameworkCoreIdempotencyUnitOfWork> logger)
    {
        ContextType = contextType;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>Gets the type of the application's context, given to <c>UseEntityFrameworkCore&lt;TContext&gt;()</c>.</summary>
    public Type ContextType { get; }

    /// <summary>Begins a unit of work on <paramref name="context"/>'s connection. Dispose it when the operation ends.</summary>
    /// <param name="context">The context whose entity changes commit with the key's record; it must have no transaction yet.</param>
    /// <param name="cancellationToken">Cancels opening the connection.</param>
    /// <returns>The unit of work, not yet claimed.</returns>
    /// <exception cref="InvalidOperationException">
    /// The context already has a transaction, its model does not map the records table, or its execution strategy retries
    /// on failure and this call is not inside <c>Database.CreateExecutionStrategy().ExecuteAsync(...)</c>.
    /// </exception>
    /// <exception cref="NotSupportedException">The context's provider is not supported.</exception>
    /// <exception cref="IdempotencyStoreException">The database could not be reached.</exception>
    public async ValueTask<EntityFrameworkCoreIdempotencyUnitOfWork> BeginAsync(DbContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        return await EntityFrameworkCoreIdempotencyUnitOfWork.BeginAsync(context, _timeProvider, _logger, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Begins a unit of work on the context of type <see cref="ContextType"/> that <paramref name="scopedServices"/> resolve.</summary>
    /// <param name="scopedServices">The services of the operation's scope (an HTTP request's <c>RequestServices</c>).</param>
    /// <param name="cancellationToken">Cancels opening the connection.</param>
    /// <returns>The unit of work, not yet claimed.</returns>
    /// <exception cref="InvalidOperationException">See <see cref="BeginAsync(DbContext, CancellationToken)"/>.</exception>
    /// <exception cref="NotSupportedException">The context's provider is not supported.</exception>
    /// <exception cref="IdempotencyStoreException">The database could not be reached.</exception>
    public ValueTask<EntityFrameworkCoreIdempotencyUnitOfWork> BeginAsync(IServiceProvider scopedServices, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(scopedServices);
        return BeginAsync((DbContext)scopedServices.GetRequiredService(ContextType), cancellationToken);
    }
}
