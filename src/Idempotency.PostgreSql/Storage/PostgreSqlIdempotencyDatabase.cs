using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Idempotency.PostgreSql;

/// <summary>
/// What the store, the schema initializer and the cleanup service share: the data source, the configured table and
/// its SQL.
/// </summary>
internal sealed class PostgreSqlIdempotencyDatabase(NpgsqlDataSource dataSource, bool ownsDataSource, PostgreSqlIdempotencyStoreOptions options)
    : PostgreSqlDatabase(dataSource, ownsDataSource)
{
    public PostgreSqlIdempotencyStoreOptions Options { get; } = options;

    public PostgreSqlStoreSql Sql { get; } = new(options.Schema, options.TableName, options.PrepareStatements);

    public static PostgreSqlIdempotencyDatabase Create(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<PostgreSqlIdempotencyStoreOptions>>().Value;
        var (dataSource, owned) = Resolve(
            options.DataSource,
            options.ConnectionString,
            services.GetService<NpgsqlDataSource>,
            "The PostgreSQL idempotency store has no database to use. Pass a connection string or an NpgsqlDataSource to " +
            "AddPostgreSqlStore(...), set PostgreSqlIdempotencyStoreOptions.ConnectionString or DataSource, or register an " +
            "NpgsqlDataSource in the service collection (for example with AddNpgsqlDataSource).");
        return new(dataSource, owned, options);
    }
}
