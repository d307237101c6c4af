using Idempotency;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the idempotency store's health check to <c>services.AddHealthChecks()</c>.</summary>
public static class IdempotencyHealthChecksBuilderExtensions
{
    /// <summary>
    /// Adds a check of the registered idempotency store: for Redis a round trip and the <c>maxmemory-policy</c>;
    /// for PostgreSQL a connection and the records table; for the in-memory store its fill level (Degraded above
    /// <see cref="InMemoryIdempotencyStoreOptions.DegradedFillLevel"/>). A store of another package is asked when it
    /// implements <see cref="IHealthCheck"/>.
    /// </summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="name">The check's name; the default is <c>"idempotency-store"</c>.</param>
    /// <param name="failureStatus">
    /// The status reported when the store cannot be reached; <see langword="null"/> (the default) reports
    /// <see cref="HealthStatus.Unhealthy"/>.
    /// </param>
    /// <param name="tags">Tags to filter checks by, for example <c>["ready"]</c>.</param>
    /// <param name="timeout">How long the check may take; <see langword="null"/> (the default) leaves it to the store's own timeouts.</param>
    /// <returns>The same builder.</returns>
    public static IHealthChecksBuilder AddIdempotencyStore(
        this IHealthChecksBuilder builder,
        string name = IdempotencyDefaults.StoreHealthCheckName,
        HealthStatus? failureStatus = null,
        IEnumerable<string>? tags = null,
        TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return builder.Add(new HealthCheckRegistration(
            name,
            services => new IdempotencyStoreHealthCheck(services.GetRequiredService<IIdempotencyStore>()),
            failureStatus,
            tags,
            timeout));
    }
}
