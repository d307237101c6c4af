using Idempotency.Chaos.Tests.Ledger;
using Idempotency.PostgreSql.Tests.Infrastructure;
using Npgsql;

namespace Idempotency.Chaos.Tests.Infrastructure;

/// <summary>A throw-away PostgreSQL 15 cluster on a loopback port with one database holding the chaos ledger's table.</summary>
internal sealed class ChaosPostgreSql : IAsyncDisposable
{
    private ChaosPostgreSql(PostgreSqlServer server, string database)
    {
        Server = server;
        Database = database;
    }

    public PostgreSqlServer Server { get; }

    public string Database { get; }

    /// <summary>A connection string for the service under test; <paramref name="timeoutSeconds"/> bounds opening a connection and each command.</summary>
    public string ConnectionString(int timeoutSeconds = 30) => new NpgsqlConnectionStringBuilder(Server.ConnectionString(Database))
    {
        Timeout = Math.Min(timeoutSeconds, 5),
        CommandTimeout = timeoutSeconds,
    }.ConnectionString;

    public static async Task<ChaosPostgreSql> StartAsync()
    {
        var server = await PostgreSqlServer.CreateAsync();
        try
        {
            var database = await server.CreateDatabaseAsync();
            await PostgreSqlLedgerBook.CreateTableAsync(server.ConnectionString(database));
            return new ChaosPostgreSql(server, database);
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    public ValueTask DisposeAsync() => Server.DisposeAsync();
}
