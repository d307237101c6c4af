using System.Security.Cryptography;
using Dapper;
using Idempotency.PostgreSql.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Idempotency.PostgreSql.Tests.DependencyInjection;

[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlIdempotencyBuilderExtensionsTests(PostgreSqlFixture fixture)
{
    [Fact]
    public async Task AddPostgreSqlStore_ReplacesTheInMemoryStore()
    {
        var services = new ServiceCollection().AddLogging();
        services.AddIdempotentExecutor().AddPostgreSqlStore(fixture.ConnectionString);
        await using var provider = services.BuildServiceProvider();

        var store = Assert.IsType<PostgreSqlIdempotencyStore>(provider.GetRequiredService<IIdempotencyStore>());
        Assert.Equal("postgresql", store.Name); // the store tag of its telemetry: fixed, never derived from the class name
    }

    [Fact]
    public void AddPostgreSqlStore_RegistersEachServiceOnce_WhenCalledTwice()
    {
        var services = new ServiceCollection().AddLogging();
        var builder = services.AddIdempotentExecutor();

        builder.AddPostgreSqlStore(fixture.ConnectionString).AddPostgreSqlStore(fixture.ConnectionString);

        Assert.Single(services, d => d.ServiceType == typeof(IIdempotencyStore));
        Assert.Single(services, d => d.ServiceType == typeof(IHostedService) && d.ImplementationType == typeof(PostgreSqlSchemaInitializer));
        Assert.Single(services, d => d.ServiceType == typeof(IHostedService) && d.ImplementationType == typeof(PostgreSqlCleanupService));
        Assert.Single(services, d => d.ServiceType == typeof(PostgreSqlIdempotencyDatabase));
    }

    [Fact]
    public async Task Host_CreatesTheTableAtStartUp_AndTheStoreUsesIt_WhenCreateSchemaOnStartup()
    {
        var tableName = PostgreSqlFixture.IsolatedTable("host").TableName;
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddIdempotentExecutor().AddPostgreSqlStore(fixture.ConnectionString, o =>
        {
            o.TableName = tableName;
            o.CreateSchemaOnStartup = true;
        });
        using var host = builder.Build();

        await host.StartAsync();
        var store = host.Services.GetRequiredService<IIdempotencyStore>();
        var claim = await store.ClaimAsync(new IdempotencyClaimRequest("k", SHA256.HashData("a"u8), "owner", TimeSpan.FromMinutes(1)), default);
        await host.StopAsync();

        Assert.Equal(ClaimStatus.Claimed, claim.Status);
        await using var connection = await fixture.DataSource.OpenConnectionAsync();
        Assert.Equal(1, await connection.QuerySingleAsync<int>($"SELECT count(*)::int FROM public.{tableName} WHERE key = 'k'"));
    }

    [Fact]
    public async Task Host_DoesNotCreateTheTable_ByDefault()
    {
        var tableName = PostgreSqlFixture.IsolatedTable("host").TableName;
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddIdempotentExecutor().AddPostgreSqlStore(fixture.ConnectionString, o => o.TableName = tableName);
        using var host = builder.Build();

        await host.StartAsync();
        await host.StopAsync();

        await using var connection = await fixture.DataSource.OpenConnectionAsync();
        Assert.False(await connection.QuerySingleAsync<bool>("SELECT to_regclass(@name) IS NOT NULL", new { name = $"public.{tableName}" }));
    }

    [Fact]
    public async Task Host_FailsToStart_WhenTheTableNameIsInvalid()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddIdempotentExecutor().AddPostgreSqlStore(fixture.ConnectionString, o => o.TableName = "Idempotency-Records");
        using var host = builder.Build();

        var exception = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("TableName must be a lower-case PostgreSQL identifier", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Host_FailsToStart_WithAMessageSayingWhatToSet_WhenNoDatabaseIsConfigured()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddIdempotentExecutor().AddPostgreSqlStore();
        using var host = builder.Build();

        var exception = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());

        Assert.Contains("has no database to use", exception.Message, StringComparison.Ordinal);
        Assert.Contains("builder.AddNpgsqlDataSource(\"ledger\")", exception.Message, StringComparison.Ordinal);
        Assert.Contains("AddPostgreSqlStore(serviceKey: \"ledger\")", exception.Message, StringComparison.Ordinal);
    }

    // Aspire's AddKeyedNpgsqlDataSource("ledger") registers AddKeyedSingleton<NpgsqlDataSource>("ledger", ...); so does this test.
    [Fact]
    public async Task AddPostgreSqlStore_UsesTheKeyedDataSourceNamedByServiceKey_AndDoesNotDisposeIt()
    {
        await using var dataSource = NpgsqlDataSource.Create(fixture.ConnectionString);
        await using var unkeyed = NpgsqlDataSource.Create(fixture.ConnectionString);
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSingleton(unkeyed).AddKeyedSingleton("ledger", dataSource);
        builder.Services.AddIdempotentExecutor().AddPostgreSqlStore(serviceKey: "ledger");

        using (var host = builder.Build())
        {
            await host.StartAsync();
            Assert.Same(dataSource, host.Services.GetRequiredService<PostgreSqlIdempotencyDatabase>().DataSource);
            var store = host.Services.GetRequiredService<IIdempotencyStore>();
            var key = "keyed-" + Guid.NewGuid().ToString("N");
            var claim = await store.ClaimAsync(new IdempotencyClaimRequest(key, SHA256.HashData("a"u8), "owner", TimeSpan.FromMinutes(1)), default);
            Assert.Equal(ClaimStatus.Claimed, claim.Status);
            await host.StopAsync();
        }

        await using var connection = await dataSource.OpenConnectionAsync(); // still usable: the store did not dispose it
        Assert.Equal(1, await connection.QuerySingleAsync<int>("SELECT 1"));
    }

    [Fact]
    public async Task Host_FailsToStart_SayingWhatToRegister_WhenTheKeyedDataSourceIsMissing()
    {
        await using var dataSource = NpgsqlDataSource.Create(fixture.ConnectionString);
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSingleton(dataSource);
        builder.Services.AddIdempotentExecutor().AddPostgreSqlStore(serviceKey: "ledger");
        using var host = builder.Build();

        var exception = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());

        Assert.Equal(
            "The PostgreSQL idempotency store was told to use the NpgsqlDataSource registered with the service key 'ledger', and none is " +
            "registered with that key. Register it (with Aspire: builder.AddKeyedNpgsqlDataSource(\"ledger\"); otherwise " +
            "services.AddKeyedSingleton<NpgsqlDataSource>(key, ...)), or pass a connection string to AddPostgreSqlStore(...).",
            exception.Message);
    }

    [Fact]
    public async Task AddPostgreSqlStore_UsesTheRegisteredDataSource_WhenNoneIsConfigured_AndDoesNotDisposeIt()
    {
        await using var dataSource = NpgsqlDataSource.Create(fixture.ConnectionString);
        var services = new ServiceCollection().AddLogging().AddSingleton(dataSource);
        services.AddIdempotentExecutor().AddPostgreSqlStore();

        await using (var provider = services.BuildServiceProvider())
        {
            Assert.Same(dataSource, provider.GetRequiredService<PostgreSqlIdempotencyDatabase>().DataSource);
        }

        await using var connection = await dataSource.OpenConnectionAsync(); // still usable: the store did not dispose it
        Assert.Equal(1, await connection.QuerySingleAsync<int>("SELECT 1"));
    }

    [Fact]
    public async Task AddPostgreSqlStore_UsesTheGivenDataSource_AndDoesNotDisposeIt()
    {
        await using var dataSource = NpgsqlDataSource.Create(fixture.ConnectionString);
        var services = new ServiceCollection().AddLogging();
        services.AddIdempotentExecutor().AddPostgreSqlStore(dataSource);

        await using (var provider = services.BuildServiceProvider())
        {
            Assert.Same(dataSource, provider.GetRequiredService<PostgreSqlIdempotencyDatabase>().DataSource);
        }

        await using var connection = await dataSource.OpenConnectionAsync();
        Assert.Equal(1, await connection.QuerySingleAsync<int>("SELECT 1"));
    }

    [Fact]
    public async Task AddPostgreSqlStore_DisposesTheDataSourceItBuilt()
    {
        var services = new ServiceCollection().AddLogging();
        services.AddIdempotentExecutor().AddPostgreSqlStore(fixture.ConnectionString);
        NpgsqlDataSource built;
        await using (var provider = services.BuildServiceProvider())
        {
            built = provider.GetRequiredService<PostgreSqlIdempotencyDatabase>().DataSource;
        }

        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await built.OpenConnectionAsync());
    }

    [Fact]
    public void AddPostgreSqlStore_ThrowsArgumentException_ForABlankConnectionString()
    {
        var builder = new ServiceCollection().AddIdempotentExecutor();

        Assert.Throws<ArgumentException>(() => builder.AddPostgreSqlStore(" "));
        Assert.Throws<ArgumentNullException>(() => builder.AddPostgreSqlStore((NpgsqlDataSource)null!));
        Assert.Throws<ArgumentNullException>(() => ((IIdempotencyBuilder)null!).AddPostgreSqlStore());
    }
}
