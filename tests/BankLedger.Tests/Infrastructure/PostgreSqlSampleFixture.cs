using Idempotency.PostgreSql.Tests.Infrastructure;
using Microsoft.AspNetCore.Mvc.Testing;

namespace BankLedger.Tests.Infrastructure;

/// <summary>
/// One PostgreSQL cluster for the sample's tests (started as the store tests start theirs), and one instance of the
/// sample in postgres mode over a database of its own, shared by the API suites that run in every mode.
/// </summary>
public sealed class PostgreSqlSampleFixture : IAsyncLifetime
{
    private PostgreSqlServer? _server;
    private WebApplicationFactory<Program>? _factory;
    private WebApplicationFactory<Program>? _efCoreFactory;

    public PostgreSqlServer Server => _server ?? throw new InvalidOperationException("The fixture has not started.");

    /// <summary>Gets the sample in postgres mode, for suites that only need one instance.</summary>
    public WebApplicationFactory<Program> Factory => _factory ?? throw new InvalidOperationException("The fixture has not started.");

    /// <summary>Gets the sample in efcore mode (the ledger on EF Core) over a database of its own, for suites that only need one instance.</summary>
    public WebApplicationFactory<Program> EfCoreFactory => _efCoreFactory ?? throw new InvalidOperationException("The fixture has not started.");

    public async Task InitializeAsync()
    {
        _server = await PostgreSqlServer.CreateAsync();
        _factory = SampleApp.Postgres(await NewDatabaseAsync());
        _efCoreFactory = SampleApp.EfCore(await NewDatabaseAsync());
    }

    public async Task DisposeAsync()
    {
        if (_factory is not null)
        {
            await _factory.DisposeAsync();
        }

        if (_efCoreFactory is not null)
        {
            await _efCoreFactory.DisposeAsync();
        }

        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    /// <summary>Creates an empty database and returns its connection string; the sample creates its tables at start-up.</summary>
    public async Task<string> NewDatabaseAsync() => Server.ConnectionString(await Server.CreateDatabaseAsync());
}

[CollectionDefinition(Name)]
public sealed class PostgreSqlSampleCollection : ICollectionFixture<PostgreSqlSampleFixture>
{
    public const string Name = "Sample on PostgreSQL";
}
