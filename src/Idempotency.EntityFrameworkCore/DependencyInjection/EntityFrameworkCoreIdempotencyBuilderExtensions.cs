using Idempotency;
using Idempotency.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Runs idempotent operations in the application's own EF Core <see cref="DbContext"/>.</summary>
public static class EntityFrameworkCoreIdempotencyBuilderExtensions
{
    /// <summary>
    /// Registers units of work on <typeparamref name="TContext"/>
    /// (<see cref="EntityFrameworkCoreIdempotencyUnitOfWorkFactory"/>), the scoped
    /// <see cref="EntityFrameworkCoreIdempotentExecutor{TContext}"/> for message handlers (with
    /// <see cref="IdempotentExecutor"/>) and the start-up check of the context. Register the context itself
    /// (<c>AddDbContext&lt;TContext&gt;</c>) and call <c>modelBuilder.AddIdempotencyRecords()</c> in its
    /// <c>OnModelCreating</c>. The application's <see cref="IIdempotencyStore"/> is left as it is: it serves endpoints
    /// and operations that do not run in a unit of work.
    /// </summary>
    /// <typeparam name="TContext">The application's context, whose connection holds both the business tables and the records.</typeparam>
    /// <param name="builder">The idempotency builder.</param>
    /// <param name="configure">Sets the options; <see langword="null"/> keeps the defaults.</param>
    /// <returns>The same builder.</returns>
    public static IIdempotencyBuilder UseEntityFrameworkCore<TContext>(this IIdempotencyBuilder builder, Action<EntityFrameworkCoreIdempotencyOptions>? configure = null)
        where TContext : DbContext
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddOptions<EntityFrameworkCoreIdempotencyOptions>().ValidateOnStart();
        if (configure is not null)
        {
            services.Configure(configure);
        }

        services.AddIdempotentExecutor();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(static provider => new EntityFrameworkCoreIdempotencyUnitOfWorkFactory(
            typeof(TContext),
            provider.GetRequiredService<TimeProvider>(),
            provider.GetRequiredService<ILogger<EntityFrameworkCoreIdempotencyUnitOfWork>>()));
        services.TryAddScoped(static provider => new EntityFrameworkCoreIdempotentExecutor<TContext>(
            provider.GetRequiredService<TContext>(),
            provider.GetRequiredService<IdempotentExecutor>(),
            provider.GetRequiredService<EntityFrameworkCoreIdempotencyUnitOfWorkFactory>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, EntityFrameworkCoreContextVerifier<TContext>>());
        return builder;
    }
}
