using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Idempotency.PostgreSql;

/// <summary>
/// What the store, the schema initializer and the cleanup service share: the data source, the configured table and
/// its SQL. Disposes the data source only when it built it from a connection string.
/// </summary>
internal sealed class PostgreSqlIdempotencyDatabase : IAsyncDisposable, IDisposable
{
    private readonly bool _ownsDataSource;

    public PostgreSqlIdempotencyDatabase(NpgsqlDataSource dataSource, bool ownsDataSource, PostgreSqlIdempotencyStoreOptions options)
    {
        DataSource = dataSource;
        _ownsDataSource = ownsDataSource;
        Options = options;
        Sql = new PostgreSqlStoreSql(options.Schema, options.TableName, options.PrepareStatements);
    }

    public NpgsqlDataSource DataSource { get; }

    public PostgreSqlIdempotencyStoreOptions Options { get; }

    public PostgreSqlStoreSql Sql { get; }

    public static PostgreSqlIdempotencyDatabase Create(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<PostgreSqlIdempotencyStoreOptions>>().Value;
        if (options.DataSource is { } given)
        {
            return new(given, ownsDataSource: false, options);
        }

        if (options.ConnectionString is { } connectionString)
        {
            return new(NpgsqlDataSource.Create(connectionString), ownsDataSource: true, options);
        }

        var registered = services.GetService<NpgsqlDataSource>()
            ?? throw new InvalidOperationException(
                "The PostgreSQL idempotency store has no database to use. Pass a connection string or an NpgsqlDataSource to " +
                "AddPostgreSqlStore(...), set PostgreSqlIdempotencyStoreOptions.ConnectionString or DataSource, or register an " +
                "NpgsqlDataSource in the service collection (for example with AddNpgsqlDataSource).");
        return new(registered, ownsDataSource: false, options);
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
