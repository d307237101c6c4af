using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Idempotency.PostgreSql.Tests.Infrastructure;

/// <summary>
/// One PostgreSQL cluster for the whole test run, with the default records table created through the store's own
/// schema initializer. Tests use keys (or tables) of their own, so they never see each other's records.
/// </summary>
public sealed class PostgreSqlFixture : IAsyncLifetime
{
    private PostgreSqlServer? _server;
    private NpgsqlDataSource? _dataSource;

    public PostgreSqlServer Server => _server ?? throw new InvalidOperationException("The fixture has not started.");

    /// <summary>Gets the connection string of the database that holds the default table.</summary>
    public string ConnectionString => Server.ConnectionString();

    /// <summary>Gets a data source shared by the tests that only need the default table.</summary>
    public NpgsqlDataSource DataSource => _dataSource ?? throw new InvalidOperationException("The fixture has not started.");

    public async Task InitializeAsync()
    {
        _server = await PostgreSqlServer.CreateAsync();
        _dataSource = NpgsqlDataSource.Create(ConnectionString);
        await CreateTableAsync(new PostgreSqlIdempotencyStoreOptions());
    }

    public async Task DisposeAsync()
    {
        if (_dataSource is not null)
        {
            await _dataSource.DisposeAsync();
        }

        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    /// <summary>A database over the shared data source for <paramref name="options"/>' table (which is not created).</summary>
    internal PostgreSqlIdempotencyDatabase Database(PostgreSqlIdempotencyStoreOptions? options = null) =>
        new(DataSource, ownsDataSource: false, options ?? new PostgreSqlIdempotencyStoreOptions());

    /// <summary>A store over the shared data source and the default table.</summary>
    internal PostgreSqlIdempotencyStore CreateStore(PostgreSqlIdempotencyDatabase? database = null) =>
        new(database ?? Database(), NullLogger<PostgreSqlIdempotencyStore>.Instance);

    /// <summary>Creates the table of <paramref name="options"/> through the schema initializer and returns its database.</summary>
    internal async Task<PostgreSqlIdempotencyDatabase> CreateTableAsync(PostgreSqlIdempotencyStoreOptions options)
    {
        var database = Database(options);
        await new PostgreSqlSchemaInitializer(database, NullLogger<PostgreSqlSchemaInitializer>.Instance).CreateSchemaAsync(default);
        return database;
    }

    /// <summary>
    /// A database of its own on the cluster (for tests that count what the server did, or look at its connections),
    /// with the table of <paramref name="options"/> created. The returned database owns its data source: dispose it.
    /// </summary>
    /// <param name="options">The store's options; the defaults when <see langword="null"/>.</param>
    /// <param name="connectionStringExtra">More connection-string settings, such as <c>Maximum Pool Size=1</c>.</param>
    internal async Task<(PostgreSqlIdempotencyDatabase Database, string Name)> CreateOwnDatabaseAsync(
        PostgreSqlIdempotencyStoreOptions? options = null, string? connectionStringExtra = null)
    {
        var name = await Server.CreateDatabaseAsync();
        var dataSource = NpgsqlDataSource.Create(Server.ConnectionString(name, connectionStringExtra));
        var database = new PostgreSqlIdempotencyDatabase(dataSource, ownsDataSource: true, options ?? new PostgreSqlIdempotencyStoreOptions());
        await new PostgreSqlSchemaInitializer(database, NullLogger<PostgreSqlSchemaInitializer>.Instance).CreateSchemaAsync(default);
        return (database, name);
    }

    /// <summary>Options for a table of its own, so a test can count and delete rows without seeing other tests' rows.</summary>
    public static PostgreSqlIdempotencyStoreOptions IsolatedTable(string prefix = "t") =>
        new() { TableName = $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(48, prefix.Length + 33)] };
}

[CollectionDefinition(Name)]
public sealed class PostgreSqlCollection : ICollectionFixture<PostgreSqlFixture>
{
    public const string Name = "PostgreSQL";
}
