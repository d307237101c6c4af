using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Idempotency.PostgreSql;

/// <summary>
/// What the conditional-write stores and their schema initializer share: the data source, the configured tables and
/// their SQL.
/// </summary>
internal sealed class PostgreSqlConditionalWriteDatabase(NpgsqlDataSource dataSource, bool ownsDataSource, PostgreSqlConditionalWriteOptions options)
    : PostgreSqlDatabase(dataSource, ownsDataSource)
{
    public PostgreSqlConditionalWriteOptions Options { get; } = options;

    public PostgreSqlConditionalWriteSql Sql { get; } = new(options.Schema, options.RecordsTableName, options.StreamEntriesTableName);

    public static PostgreSqlConditionalWriteDatabase Create(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<PostgreSqlConditionalWriteOptions>>().Value;

        // Shared: the application's data source, else the idempotency store's; the transactional mode's transaction
        // belongs to the store's database, and conditional writes made in it must find their tables there.
        var (dataSource, owned) = Resolve(
            options.DataSource,
            options.ConnectionString,
            () => services.GetService<NpgsqlDataSource>() ?? services.GetService<PostgreSqlIdempotencyDatabase>()?.DataSource,
            "The PostgreSQL conditional-write stores have no database to use. Pass a connection string or an NpgsqlDataSource to " +
            "AddPostgreSqlConditionalWrites(...), set PostgreSqlConditionalWriteOptions.ConnectionString or DataSource, register an " +
            "NpgsqlDataSource in the service collection, or register the PostgreSQL idempotency store (AddIdempotency().AddPostgreSqlStore(...)) " +
            "for the stores to share its database.");
        return new(dataSource, owned, options);
    }
}
