using Idempotency;
using Idempotency.PostgreSql;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Keeps idempotency records in PostgreSQL.</summary>
public static class PostgreSqlIdempotencyBuilderExtensions
{
    /// <summary>
    /// Uses the PostgreSQL store over the application's own <see cref="NpgsqlDataSource"/> from the service collection
    /// (registered by Aspire's <c>AddNpgsqlDataSource</c>, or <c>AddKeyedNpgsqlDataSource</c> with
    /// <paramref name="serviceKey"/>), unless <paramref name="configure"/> sets a connection string or a data source.
    /// Replaces any store registered before.
    /// </summary>
    /// <param name="builder">The idempotency builder.</param>
    /// <param name="configure">Sets the database, the table and the cleanup; <see langword="null"/> keeps the defaults.</param>
    /// <param name="serviceKey">
    /// The service key of a keyed data source to use (sets <see cref="PostgreSqlIdempotencyStoreOptions.DataSourceServiceKey"/>);
    /// <see langword="null"/> (the default) uses the one registered without a key.
    /// </param>
    /// <returns>The same builder.</returns>
    /// <remarks>The store never disposes the application's data source. A missing one fails the host at start-up, saying what to register.</remarks>
    public static IIdempotencyBuilder AddPostgreSqlStore(this IIdempotencyBuilder builder, Action<PostgreSqlIdempotencyStoreOptions>? configure = null, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddOptions<PostgreSqlIdempotencyStoreOptions>().ValidateOnStart();
        if (serviceKey is not null)
        {
            services.Configure<PostgreSqlIdempotencyStoreOptions>(options => options.DataSourceServiceKey = serviceKey);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PostgreSqlIdempotencyStoreOptions>, PostgreSqlIdempotencyStoreOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PostgreSqlIdempotencyStoreOptions>, PostgreSqlIdempotencyStoreConnectionValidator>());
        if (configure is not null)
        {
            services.Configure(configure);
        }

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(PostgreSqlIdempotencyDatabase.Create);
        // The transactional mode: units of work on the store's database, for message handlers and the HTTP binding
        // (Idempotency.PostgreSql.AspNetCore) alike.
        services.TryAddSingleton(static provider => new PostgreSqlIdempotencyUnitOfWorkFactory(
            provider.GetRequiredService<PostgreSqlIdempotencyDatabase>(),
            provider.GetRequiredService<ILogger<PostgreSqlIdempotencyUnitOfWork>>()));
        services.TryAddScoped<PostgreSqlIdempotentTransaction>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, PostgreSqlSchemaInitializer>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, PostgreSqlCleanupService>());
        return builder.UseStore<PostgreSqlIdempotencyStore>();
    }

    /// <summary>Uses the PostgreSQL store over a data source that it builds from <paramref name="connectionString"/> and owns.</summary>
    /// <param name="builder">The idempotency builder.</param>
    /// <param name="connectionString">An Npgsql connection string.</param>
    /// <param name="configure">Sets the table and the cleanup; <see langword="null"/> keeps the defaults.</param>
    /// <returns>The same builder.</returns>
    public static IIdempotencyBuilder AddPostgreSqlStore(this IIdempotencyBuilder builder, string connectionString, Action<PostgreSqlIdempotencyStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return builder.AddPostgreSqlStore(options =>
        {
            options.ConnectionString = connectionString;
            configure?.Invoke(options);
        });
    }

    /// <summary>Uses the PostgreSQL store over <paramref name="dataSource"/>, shared with the application and not disposed by the store.</summary>
    /// <param name="builder">The idempotency builder.</param>
    /// <param name="dataSource">The data source to open connections from.</param>
    /// <param name="configure">Sets the table and the cleanup; <see langword="null"/> keeps the defaults.</param>
    /// <returns>The same builder.</returns>
    public static IIdempotencyBuilder AddPostgreSqlStore(this IIdempotencyBuilder builder, NpgsqlDataSource dataSource, Action<PostgreSqlIdempotencyStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(dataSource);
        return builder.AddPostgreSqlStore(options =>
        {
            options.DataSource = dataSource;
            configure?.Invoke(options);
        });
    }
}
