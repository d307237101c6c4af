using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Idempotency;

/// <summary>
/// The check <c>AddIdempotencyStore()</c> registers: asks the registered store, when it implements
/// <see cref="IHealthCheck"/> (every store of this library does), and otherwise reports Healthy with a note.
/// </summary>
/// <remarks>
/// The store is resolved when the check runs, not when it is registered, so <c>AddHealthChecks().AddIdempotencyStore()</c>
/// may come before or after <c>AddIdempotency().AddRedisStore(...)</c>, and it checks whichever store won.
/// </remarks>
internal sealed class IdempotencyStoreHealthCheck(IIdempotencyStore store) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        return store is IHealthCheck check
            ? check.CheckHealthAsync(context, cancellationToken)
            : Task.FromResult(HealthCheckResult.Healthy($"The idempotency store {store.GetType().Name} has no health check of its own."));
    }
}
