using Idempotency.PostgreSql.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace Idempotency.PostgreSql.Tests.HealthChecks;

/// <summary><c>AddHealthChecks().AddIdempotencyStore()</c> over the PostgreSQL store, against real servers.</summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlStoreHealthCheckTests(PostgreSqlFixture fixture)
{
    [Fact]
    public async Task HealthCheck_ReportsHealthy_WhenTheDatabaseAnswers_AndTheTableExists()
    {
        await using var provider = Build(idempotency => idempotency.AddPostgreSqlStore(fixture.ConnectionString));

        var entry = await CheckAsync(provider);

        Assert.Equal(HealthStatus.Healthy, entry.Status);
        Assert.Equal("PostgreSQL answers, and the table \"public\".\"idempotency_records\" exists.", entry.Description);
    }

    [Fact]
    public async Task HealthCheck_ReportsUnhealthy_WhenTheTableIsMissing()
    {
        var tableName = PostgreSqlFixture.IsolatedTable("missing").TableName;
        await using var provider = Build(idempotency => idempotency.AddPostgreSqlStore(fixture.ConnectionString, o => o.TableName = tableName));

        var entry = await CheckAsync(provider);

        Assert.Equal(HealthStatus.Unhealthy, entry.Status);
        Assert.Contains($"the table \"public\".\"{tableName}\" does not exist", entry.Description, StringComparison.Ordinal);
        Assert.Contains("CreateSchemaOnStartup", entry.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HealthCheck_ReportsTheConfiguredFailureStatus_WhenTheSchemaIsMissing()
    {
        var services = new ServiceCollection().AddLogging();
        services.AddIdempotentExecutor().AddPostgreSqlStore(fixture.ConnectionString, o => o.Schema = "nowhere");
        services.AddHealthChecks().AddIdempotencyStore(failureStatus: HealthStatus.Degraded);
        await using var provider = services.BuildServiceProvider();

        var entry = await CheckAsync(provider);

        Assert.Equal(HealthStatus.Degraded, entry.Status);
        Assert.Contains("\"nowhere\".\"idempotency_records\" does not exist", entry.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HealthCheck_ReportsUnhealthy_WhenTheServerIsStopped_AndHealthyOnceItIsBack()
    {
        await using var server = await PostgreSqlServer.CreateAsync();
        var connectionString = server.ConnectionString(extra: "Timeout=2");
        await using (var setup = NpgsqlDataSource.Create(connectionString))
        {
            await using var command = setup.CreateCommand(PostgreSqlSchemaScript.For("public", "idempotency_records"));
            await command.ExecuteNonQueryAsync();
        }

        await using var provider = Build(idempotency => idempotency.AddPostgreSqlStore(connectionString));
        Assert.Equal(HealthStatus.Healthy, (await CheckAsync(provider)).Status);

        await server.StopAsync();
        var down = await CheckAsync(provider);

        Assert.Equal(HealthStatus.Unhealthy, down.Status);
        Assert.StartsWith("The PostgreSQL idempotency store cannot reach its database: ", down.Description, StringComparison.Ordinal);
        Assert.NotNull(down.Exception);

        await server.StartAsync();
        NpgsqlConnection.ClearAllPools();
        Assert.Equal(HealthStatus.Healthy, (await CheckAsync(provider)).Status);
    }

    [Fact]
    public async Task HealthCheck_UsesTheApplicationsKeyedDataSource()
    {
        await using var dataSource = NpgsqlDataSource.Create(fixture.ConnectionString);
        var services = new ServiceCollection().AddLogging().AddKeyedSingleton("ledger", dataSource);
        services.AddIdempotentExecutor().AddPostgreSqlStore(serviceKey: "ledger");
        services.AddHealthChecks().AddIdempotencyStore();
        await using var provider = services.BuildServiceProvider();

        Assert.Equal(HealthStatus.Healthy, (await CheckAsync(provider)).Status);
    }

    private static ServiceProvider Build(Action<IIdempotencyBuilder> addStore)
    {
        var services = new ServiceCollection().AddLogging();
        addStore(services.AddIdempotentExecutor());
        services.AddHealthChecks().AddIdempotencyStore();
        return services.BuildServiceProvider();
    }

    private static async Task<HealthReportEntry> CheckAsync(IServiceProvider provider)
    {
        var report = await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        return Assert.Single(report.Entries, e => e.Key == "idempotency-store").Value;
    }
}
