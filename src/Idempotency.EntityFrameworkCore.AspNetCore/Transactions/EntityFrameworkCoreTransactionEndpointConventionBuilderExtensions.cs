using Idempotency.EntityFrameworkCore;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Runs endpoints in an EF Core idempotency transaction.</summary>
public static class EntityFrameworkCoreTransactionEndpointConventionBuilderExtensions
{
    /// <summary>
    /// Runs keyed requests to the endpoint in one transaction on the application's <c>DbContext</c>: the claim, the
    /// handler's entity changes and the stored response commit together, or none of them does. The same as
    /// <see cref="EntityFrameworkCoreTransactionAttribute"/>. Use it with <c>.RequireIdempotency()</c>.
    /// </summary>
    /// <typeparam name="TBuilder">The endpoint convention builder type.</typeparam>
    /// <param name="builder">The endpoint or group.</param>
    /// <returns>The same builder.</returns>
    public static TBuilder WithEntityFrameworkCoreTransaction<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        var metadata = new EntityFrameworkCoreTransactionAttribute();
        builder.Add(endpoint => endpoint.Metadata.Add(metadata));
        return builder;
    }
}
