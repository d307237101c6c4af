using System.Text.Json.Serialization.Metadata;
using Microsoft.EntityFrameworkCore;

namespace Idempotency.EntityFrameworkCore;

/// <summary>
/// Runs an operation (a message handler's effect) at most once per key on the scope's <typeparamref name="TContext"/>:
/// the claim of the key, the entity changes the operation makes on the context and its result commit in one transaction,
/// or none of them does. A delivery that fails anywhere before the commit leaves nothing, and its redelivery runs again;
/// one after the commit replays the stored result. Registered (scoped) by <c>UseEntityFrameworkCore&lt;TContext&gt;()</c>.
/// </summary>
/// <remarks>
/// The whole unit (begin, claim, operation, completion) runs inside the context's execution strategy
/// (<c>Database.CreateExecutionStrategy()</c>): with <c>EnableRetryOnFailure</c>, a transient fault anywhere in it runs
/// the whole unit again, after clearing the change tracker of the failed attempt's changes. The operation must therefore
/// make its changes through the context it is given, from scratch on every attempt.
/// </remarks>
/// <typeparam name="TContext">The application's context.</typeparam>
public sealed class EntityFrameworkCoreIdempotentExecutor<TContext>
    where TContext : DbContext
{
    private readonly IdempotentExecutor _executor;
    private readonly EntityFrameworkCoreIdempotencyUnitOfWorkFactory _factory;

    internal EntityFrameworkCoreIdempotentExecutor(TContext context, IdempotentExecutor executor, EntityFrameworkCoreIdempotencyUnitOfWorkFactory factory)
    {
        Context = context;
        _executor = executor;
        _factory = factory;
    }

    /// <summary>Gets the scope's context, in which the operations run.</summary>
    public TContext Context { get; }

    /// <summary>Runs <paramref name="operation"/>, which has no result, unless an execution with the same key has committed.</summary>
    /// <param name="request">The key, scope, payload and name of the operation; its <see cref="IdempotentOperation.UnitOfWork"/> must be unset.</param>
    /// <param name="operation">Changes entities on the context it is given; it may call <c>SaveChangesAsync</c> or leave that to the completion.</param>
    /// <param name="cancellationToken">Cancels the claim and is passed to the operation; never the commit.</param>
    /// <returns>Whether the operation had already run.</returns>
    /// <exception cref="IdempotentOperationInFlightException">Another execution with the same key is running.</exception>
    /// <exception cref="IdempotencyKeyReusedException">The key was used with a different payload.</exception>
    /// <exception cref="IdempotencyStoreException">The database failed; nothing of the operation was committed unless the commit failed in flight, and running it again is safe.</exception>
    public Task<IdempotentResult> ExecuteAsync(IdempotentOperation request, Func<TContext, CancellationToken, Task> operation, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(operation);
        return RunAsync(request, (executor, unitOfWorkRequest, ct) => executor.ExecuteAsync(unitOfWorkRequest, c => operation(Context, c), ct), cancellationToken);
    }

    /// <summary>Runs <paramref name="operation"/> unless an execution with the same key has committed, whose result is then returned.</summary>
    /// <typeparam name="TResult">The result type, stored with <paramref name="resultType"/>.</typeparam>
    /// <param name="request">The key, scope, payload and name of the operation; its <see cref="IdempotentOperation.UnitOfWork"/> must be unset.</param>
    /// <param name="operation">Changes entities on the context it is given and returns the result.</param>
    /// <param name="resultType">The JSON contract of the result (from a source-generated <c>JsonSerializerContext</c>).</param>
    /// <param name="cancellationToken">Cancels the claim and is passed to the operation; never the commit.</param>
    /// <returns>The result, and whether it was replayed.</returns>
    /// <exception cref="IdempotentOperationInFlightException">Another execution with the same key is running.</exception>
    /// <exception cref="IdempotencyKeyReusedException">The key was used with a different payload.</exception>
    /// <exception cref="IdempotencyStoreException">The database failed; nothing of the operation was committed unless the commit failed in flight, and running it again is safe.</exception>
    public Task<IdempotentResult<TResult>> ExecuteAsync<TResult>(
        IdempotentOperation request, Func<TContext, CancellationToken, ValueTask<TResult>> operation, JsonTypeInfo<TResult> resultType, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(operation);
        ArgumentNullException.ThrowIfNull(resultType);
        return RunAsync(request, (executor, unitOfWorkRequest, ct) => executor.ExecuteAsync(unitOfWorkRequest, c => operation(Context, c), resultType, ct), cancellationToken);
    }

    private Task<TResult> RunAsync<TResult>(
        IdempotentOperation request, Func<IdempotentExecutor, IdempotentOperation, CancellationToken, ValueTask<TResult>> run, CancellationToken cancellationToken)
    {
        if (request.UnitOfWork is not null)
        {
            throw new ArgumentException("The operation brings a unit of work of its own; this executor begins one on its context for every attempt.", nameof(request));
        }

        var attempts = 0;
        return Context.Database.CreateExecutionStrategy().ExecuteAsync(
            async ct =>
            {
                if (attempts++ > 0)
                {
                    // The failed attempt was rolled back: its tracked changes must not be saved again.
                    Context.ChangeTracker.Clear();
                }

                var unitOfWork = await _factory.BeginAsync(Context, ct).ConfigureAwait(false);
                await using (unitOfWork.ConfigureAwait(false))
                {
                    var attempt = new IdempotentOperation(request.Key, request.Payload, request.Scope) { Name = request.Name, UnitOfWork = unitOfWork };
                    return await run(_executor, attempt, ct).ConfigureAwait(false);
                }
            },
            cancellationToken);
    }
}
