using Idempotency;
using Idempotency.Redis;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Uses Redis for conditional writes: compare-and-set records and append-if-last streams.</summary>
public static class RedisConditionalWriteServiceCollectionExtensions
{
    /// <summary>
    /// Registers Redis implementations of <see cref="IVersionedRecordStore"/> and <see cref="IAppendOnlyStreamStore"/>,
    /// replacing any registered before (such as the in-memory ones). Each write is one Lua script: one atomic round
    /// trip. They use the application's <see cref="IConnectionMultiplexer"/> (registered in the service collection, or
    /// made by <see cref="RedisConditionalWriteOptions.ConnectionMultiplexerFactory"/>) and never dispose it.
    /// Options are validated when the host starts, and a hosted service checks Redis's <c>maxmemory-policy</c> then
    /// (<see cref="RedisConditionalWriteOptions.EvictionPolicyCheck"/>).
    /// </summary>
    /// <remarks>
    /// Run Redis with <c>maxmemory-policy noeviction</c>: under an eviction policy Redis may drop a record or a stream
    /// to free memory, and a dropped record starts again at version 1, a dropped stream at entry 1.
    /// </remarks>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the key prefix and, optionally, where the multiplexer comes from.</param>
    /// <returns>The same service collection.</returns>
    public static IServiceCollection AddRedisConditionalWrites(this IServiceCollection services, Action<RedisConditionalWriteOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<RedisConditionalWriteOptions>().ValidateOnStart();
        if (configure is not null)
        {
            services.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RedisConditionalWriteOptions>, RedisConditionalWriteOptionsValidator>());
        services.TryAddSingleton(provider => new RedisConditionalWriteConnection(Multiplexer(provider)));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, RedisConditionalWriteInitializer>());
        services.Replace(ServiceDescriptor.Singleton<IVersionedRecordStore>(
            provider => new RedisVersionedRecordStore(
                provider.GetRequiredService<RedisConditionalWriteConnection>().Multiplexer, Options(provider), provider.GetService<ILogger<RedisVersionedRecordStore>>())));
        services.Replace(ServiceDescriptor.Singleton<IAppendOnlyStreamStore>(
            provider => new RedisAppendOnlyStreamStore(
                provider.GetRequiredService<RedisConditionalWriteConnection>().Multiplexer, Options(provider), provider.GetService<ILogger<RedisAppendOnlyStreamStore>>())));
        return services;
    }

    private static IOptions<RedisConditionalWriteOptions> Options(IServiceProvider provider) =>
        provider.GetRequiredService<IOptions<RedisConditionalWriteOptions>>();

    private static IConnectionMultiplexer Multiplexer(IServiceProvider provider) =>
        Options(provider).Value.ConnectionMultiplexerFactory is { } factory
            ? factory(provider) ?? throw new InvalidOperationException("RedisConditionalWriteOptions.ConnectionMultiplexerFactory returned null.")
            : provider.GetService<IConnectionMultiplexer>() ?? throw new InvalidOperationException(
                "The Redis conditional-write stores have no connection: register an IConnectionMultiplexer in the service collection " +
                "(services.AddSingleton<IConnectionMultiplexer>(ConnectionMultiplexer.Connect(\"localhost:6379\"))) or set " +
                "RedisConditionalWriteOptions.ConnectionMultiplexerFactory.");
}
