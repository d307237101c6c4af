using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Idempotency;

/// <summary>Chooses and configures the store behind <see cref="IIdempotencyBuilder"/>.</summary>
public static class IdempotencyBuilderExtensions
{
    /// <summary>Uses the bounded in-memory store (the default) with the given limits.</summary>
    /// <param name="builder">The idempotency builder.</param>
    /// <param name="configure">Sets the store's bounds.</param>
    /// <returns>The same builder.</returns>
    public static IIdempotencyBuilder AddInMemoryStore(this IIdempotencyBuilder builder, Action<InMemoryIdempotencyStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (configure is not null)
        {
            builder.Services.Configure(configure);
        }

        builder.Services.Replace(ServiceDescriptor.Singleton<IIdempotencyStore, InMemoryIdempotencyStore>());
        return builder;
    }

    /// <summary>
    /// Uses <typeparamref name="TStore"/> as the store, replacing any store registered before. For store authors:
    /// the store packages call this.
    /// </summary>
    /// <typeparam name="TStore">The store implementation, registered as a singleton.</typeparam>
    /// <param name="builder">The idempotency builder.</param>
    /// <returns>The same builder.</returns>
    public static IIdempotencyBuilder UseStore<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TStore>(this IIdempotencyBuilder builder)
        where TStore : class, IIdempotencyStore
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Replace(ServiceDescriptor.Singleton<IIdempotencyStore, TStore>());
        return builder;
    }
}
