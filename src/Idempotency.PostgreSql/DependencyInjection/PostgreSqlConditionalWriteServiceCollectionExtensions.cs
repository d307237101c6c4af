using Idempotency;
using Idempotency.PostgreSql;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Uses PostgreSQL for conditional writes: compare-and-set records and append-if-last streams.</summary>
public static class PostgreSqlConditionalWriteServiceCollectionExtensions
{
    /// <summary>
    /// Registers PostgreSQL implementations of <see cref="IVersionedRecordStore"/> and <see cref="IAppendOnlyStreamStore"/>,
    /// replacing any registered before (such as the in-memory ones), and the same singletons as
    /// <see cref="PostgreSqlVersionedRecordStore"/> and <see cref="PostgreSqlAppendOnlyStreamStore"/>, whose
    /// <c>WithTransaction(...)</c> runs them inside a transaction of yours. Each write checks and writes in one
    /// statement. Options are validated when the host starts. Safe to call more than once.
    /// </summary>
    /// <remarks>
    /// Without a connection string or data source in <paramref name="configure"/>, the stores use the
    /// <see cref="NpgsqlDataSource"/> registered in the service collection, or else the PostgreSQL idempotency store's.
    /// </remarks>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the database and the tables; <see langword="null"/> keeps the defaults.</param>
    /// <returns>The same service collection.</returns>
    public static IServiceCollection AddPostgreSqlConditionalWrites(this IServiceCollection services, Action<PostgreSqlConditionalWriteOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<PostgreSqlConditionalWriteOptions>().ValidateOnStart();
        if (configure is not null)
        {
            services.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PostgreSqlConditionalWriteOptions>, PostgreSqlConditionalWriteOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PostgreSqlConditionalWriteOptions>, PostgreSqlConditionalWriteConnectionValidator>());
        services.TryAddSingleton(PostgreSqlConditionalWriteDatabase.Create);
        services.TryAddSingleton(provider => new PostgreSqlVersionedRecordStore(provider.GetRequiredService<PostgreSqlConditionalWriteDatabase>()));
        services.TryAddSingleton(provider => new PostgreSqlAppendOnlyStreamStore(provider.GetRequiredService<PostgreSqlConditionalWriteDatabase>()));
        services.Replace(ServiceDescriptor.Singleton<IVersionedRecordStore>(provider => provider.GetRequiredService<PostgreSqlVersionedRecordStore>()));
        services.Replace(ServiceDescriptor.Singleton<IAppendOnlyStreamStore>(provider => provider.GetRequiredService<PostgreSqlAppendOnlyStreamStore>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, PostgreSqlConditionalWriteSchemaInitializer>());
        return services;
    }

    /// <summary>Uses the PostgreSQL conditional-write stores over a data source that they build from <paramref name="connectionString"/> and own.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="connectionString">An Npgsql connection string.</param>
    /// <param name="configure">Sets the tables; <see langword="null"/> keeps the defaults.</param>
    /// <returns>The same service collection.</returns>
    public static IServiceCollection AddPostgreSqlConditionalWrites(this IServiceCollection services, string connectionString, Action<PostgreSqlConditionalWriteOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return services.AddPostgreSqlConditionalWrites(options =>
        {
            options.ConnectionString = connectionString;
            configure?.Invoke(options);
        });
    }

    /// <summary>Uses the PostgreSQL conditional-write stores over <paramref name="dataSource"/>, shared with the application and not disposed by them.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="dataSource">The data source to open connections from.</param>
    /// <param name="configure">Sets the tables; <see langword="null"/> keeps the defaults.</param>
    /// <returns>The same service collection.</returns>
    public static IServiceCollection AddPostgreSqlConditionalWrites(this IServiceCollection services, NpgsqlDataSource dataSource, Action<PostgreSqlConditionalWriteOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(dataSource);
        return services.AddPostgreSqlConditionalWrites(options =>
        {
            options.DataSource = dataSource;
            configure?.Invoke(options);
        });
    }
}
