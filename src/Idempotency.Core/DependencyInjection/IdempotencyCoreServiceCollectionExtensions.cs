using Idempotency;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the transport-agnostic idempotency engine.</summary>
public static class IdempotencyCoreServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="IdempotentExecutor"/> and, unless another store is registered, the bounded in-memory store.
    /// Safe to call more than once.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Configures lease and retention; <see langword="null"/> keeps the defaults.</param>
    /// <returns>A builder to choose a store with.</returns>
    public static IIdempotencyBuilder AddIdempotentExecutor(this IServiceCollection services, Action<IdempotentExecutorOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var builder = services.AddIdempotencyEngine();
        services.AddOptions<IdempotentExecutorOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<IdempotentExecutorOptions>, IdempotentExecutorOptionsValidator>());
        if (configure is not null)
        {
            services.Configure(configure);
        }

        services.TryAddSingleton<IdempotentExecutor>();
        return builder;
    }

    /// <summary>
    /// Registers what every idempotency front end shares: the <see cref="IdempotencyEngine"/>, its options (validated at
    /// start-up), the clock and, unless another store is registered, the bounded in-memory store. Adapters
    /// (<c>AddIdempotency()</c>, <see cref="AddIdempotentExecutor"/>) call it; safe to call more than once.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Configures the engine; <see langword="null"/> keeps the defaults.</param>
    /// <returns>A builder to choose a store with.</returns>
    public static IIdempotencyBuilder AddIdempotencyEngine(this IServiceCollection services, Action<IdempotencyEngineOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<IdempotencyEngineOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<IdempotencyEngineOptions>, IdempotencyEngineOptionsValidator>());
        if (configure is not null)
        {
            services.Configure(configure);
        }

        services.TryAddSingleton<IdempotencyEngine>();
        services.AddOptions<InMemoryIdempotencyStoreOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<InMemoryIdempotencyStoreOptions>, InMemoryIdempotencyStoreOptionsValidator>());
        services.TryAddSingleton<IIdempotencyStore, InMemoryIdempotencyStore>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, InMemoryStoreEnvironmentWarning>());
        return new IdempotencyBuilder(services);
    }
}
