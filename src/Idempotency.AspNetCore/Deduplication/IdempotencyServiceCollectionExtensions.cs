using Idempotency;
using Idempotency.AspNetCore.Deduplication;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers request deduplication for ASP.NET Core.</summary>
public static class IdempotencyServiceCollectionExtensions
{
    /// <summary>
    /// Registers the services of <c>app.UseIdempotency()</c> with the bounded in-memory store, unless another store
    /// is chosen on the returned builder. Options are validated when the host starts. Safe to call more than once.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Configures <see cref="IdempotencyOptions"/>; <see langword="null"/> keeps the defaults.</param>
    /// <returns>A builder to choose a store with (<c>.AddRedisStore(...)</c>, <c>.AddPostgreSqlStore(...)</c>).</returns>
    public static IIdempotencyBuilder AddIdempotency(this IServiceCollection services, Action<IdempotencyOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var builder = services.AddIdempotencyEngine();
        services.AddOptions<IdempotencyOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<IdempotencyOptions>, IdempotencyOptionsValidator>());
        if (configure is not null)
        {
            services.Configure(configure);
        }

        // The engine's audit hashes use the middleware's secret unless the engine has one of its own.
        services.AddOptions<IdempotencyEngineOptions>().Configure<IOptions<IdempotencyOptions>>(static (engine, web) =>
        {
            try
            {
                engine.AuditHashSecret ??= web.Value.AuditHashSecret;
            }
            catch (OptionsValidationException)
            {
                // Invalid middleware options fail the host through their own validation, with their own message.
            }
        });
        services.AddMetrics();
        services.TryAddSingleton<IdempotencyProblemWriter>();
        services.TryAddSingleton<IdempotencyMarkerService>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IStartupFilter, GrpcEndpointStartupFilter>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IStartupFilter, IdempotencyPolicyStartupFilter>());
        return builder;
    }

    /// <summary>
    /// Registers the services of <c>app.UseIdempotency()</c> with <see cref="IdempotencyOptions"/> bound from
    /// <paramref name="configuration"/>, by convention the <c>Idempotency</c> section:
    /// <c>AddIdempotency(builder.Configuration.GetSection("Idempotency"))</c>. The bound values are validated when
    /// the host starts, like any other; <paramref name="configure"/> runs after the binding, for what configuration
    /// cannot hold (delegates such as <see cref="IdempotencyOptions.ScopeResolver"/>).
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The configuration section whose keys are <see cref="IdempotencyOptions"/>' property names.</param>
    /// <param name="configure">Configures <see cref="IdempotencyOptions"/> after the binding; <see langword="null"/> keeps the bound values.</param>
    /// <returns>A builder to choose a store with (<c>.AddRedisStore(...)</c>, <c>.AddPostgreSqlStore(...)</c>).</returns>
    public static IIdempotencyBuilder AddIdempotency(this IServiceCollection services, IConfiguration configuration, Action<IdempotencyOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.Configure<IdempotencyOptions>(configuration);
        return services.AddIdempotency(configure);
    }
}
