using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Idempotency.PostgreSql;

/// <summary>
/// What the conditional-write stores and their schema initializer share: the data source, the configured tables and
/// their SQL. Disposes the data source only when it built it from a connection string.
/// </summary>
internal sealed class PostgreSqlConditionalWriteDatabase : IAsyncDisposable, IDisposable
{
    private readonly bool _ownsDataSource;

    public PostgreSqlConditionalWriteDatabase(NpgsqlDataSource dataSource, bool ownsDataSource, PostgreSqlConditionalWriteOptions options)
    {
        DataSource = dataSource;
        _ownsDataSource = ownsDataSource;
        Options = options;
        Sql = new PostgreSqlConditionalWriteSql(options.Schema, options.RecordsTableName, options.StreamEntriesTableName);
    }

    public NpgsqlDataSource DataSource { get; }

    public PostgreSqlConditionalWriteOptions Options { get; }

    public PostgreSqlConditionalWriteSql Sql { get; }

    public static PostgreSqlConditionalWriteDatabase Create(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<PostgreSqlConditionalWriteOptions>>().Value;
        if (options.DataSource is { } given)
        {
            return new(given, ownsDataSource: false, options);
        }

        if (options.ConnectionString is { } connectionString)
        {
            return new(NpgsqlDataSource.Create(connectionString), ownsDataSource: true, options);
        }

        // The application's data source, else the idempotency store's: the transactional mode's transaction belongs to
        // the store's database, and conditional writes made in it must find their tables there.
        var shared = services.GetService<NpgsqlDataSource>()
            ?? services.GetService<PostgreSqlIdempotencyDatabase>()?.DataSource
            ?? throw new InvalidOperationException(
                "The PostgreSQL conditional-write stores have no database to use. Pass a connection string or an NpgsqlDataSource to " +
                "AddPostgreSqlConditionalWrites(...), set PostgreSqlConditionalWriteOptions.ConnectionString or DataSource, register an " +
                "NpgsqlDataSource in the service collection, or register the PostgreSQL idempotency store (AddIdempotency().AddPostgreSqlStore(...)) " +
                "for the stores to share its database.");
        return new(shared, ownsDataSource: false, options);
    }

    public void Dispose()
    {
        if (_ownsDataSource)
        {
            DataSource.Dispose();
        }
    }

    public ValueTask DisposeAsync() => _ownsDataSource ? DataSource.DisposeAsync() : ValueTask.CompletedTask;
}
