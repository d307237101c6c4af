using Idempotency;
using Idempotency.Redis;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Uses Redis as the idempotency store, shared by every instance of a service.</summary>
public static class RedisIdempotencyBuilderExtensions
{
    /// <summary>Uses a Redis store that opens its own connection with <paramref name="connectionString"/>.</summary>
    /// <param name="builder">The idempotency builder.</param>
    /// <param name="connectionString">A StackExchange.Redis configuration string, for example <c>"localhost:6379"</c>.</param>
    /// <param name="configure">Sets the key prefix, the eviction-policy check and the lease grace period.</param>
    /// <returns>The same builder.</returns>
    public static IIdempotencyBuilder AddRedisStore(this IIdempotencyBuilder builder, string connectionString, Action<RedisIdempotencyStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return builder.AddRedisStore(options =>
        {
            options.ConnectionString = connectionString;
            configure?.Invoke(options);
        });
    }

    /// <summary>Uses a Redis store over the multiplexer that <paramref name="connectionMultiplexerFactory"/> returns (called once; not disposed by the store).</summary>
    /// <param name="builder">The idempotency builder.</param>
    /// <param name="connectionMultiplexerFactory">Returns the multiplexer to use, typically the application's own.</param>
    /// <param name="configure">Sets the key prefix, the eviction-policy check and the lease grace period.</param>
    /// <returns>The same builder.</returns>
    public static IIdempotencyBuilder AddRedisStore(
        this IIdempotencyBuilder builder,
        Func<IServiceProvider, IConnectionMultiplexer> connectionMultiplexerFactory,
        Action<RedisIdempotencyStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(connectionMultiplexerFactory);
        return builder.AddRedisStore(options =>
        {
            options.ConnectionMultiplexerFactory = connectionMultiplexerFactory;
            configure?.Invoke(options);
        });
    }

    /// <summary>
    /// Uses a Redis store over the application's own <see cref="IConnectionMultiplexer"/> from the service collection
    /// (registered by Aspire's <c>AddRedisClient</c>, or <c>AddKeyedRedisClient</c> with <paramref name="serviceKey"/>),
    /// unless <paramref name="configure"/> sets a connection string or a multiplexer factory.
    /// </summary>
    /// <param name="builder">The idempotency builder.</param>
    /// <param name="configure">Sets the connection, the key prefix, the eviction-policy check and the lease grace period.</param>
    /// <param name="serviceKey">
    /// The service key of a keyed multiplexer to use (sets <see cref="RedisIdempotencyStoreOptions.ConnectionMultiplexerServiceKey"/>);
    /// <see langword="null"/> (the default) uses the one registered without a key.
    /// </param>
    /// <returns>The same builder.</returns>
    /// <remarks>The store never disposes the application's multiplexer. A missing one fails the host at start-up, saying what to register.</remarks>
    public static IIdempotencyBuilder AddRedisStore(this IIdempotencyBuilder builder, Action<RedisIdempotencyStoreOptions>? configure = null, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddOptions<RedisIdempotencyStoreOptions>().ValidateOnStart();
        if (serviceKey is not null)
        {
            services.Configure<RedisIdempotencyStoreOptions>(options => options.ConnectionMultiplexerServiceKey = serviceKey);
        }

        if (configure is not null)
        {
            services.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RedisIdempotencyStoreOptions>, RedisIdempotencyStoreOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RedisIdempotencyStoreOptions>, RedisIdempotencyStoreConnectionValidator>());
        services.TryAddSingleton(provider => RedisConnection.Create(provider, provider.GetRequiredService<IOptions<RedisIdempotencyStoreOptions>>().Value));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, RedisStoreInitializer>());
        return builder.UseStore<RedisIdempotencyStore>();
    }
}
