using Dapper;
using Idempotency.PostgreSql.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Idempotency.PostgreSql.Tests.ConditionalWrites;

[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlConditionalWriteServiceCollectionExtensionsTests(PostgreSqlFixture fixture)
{
    [Fact]
    public async Task AddPostgreSqlConditionalWrites_ReplacesTheInMemoryStores_WithThePostgreSqlSingletons()
    {
        var services = new ServiceCollection().AddLogging();
        services.AddInMemoryConditionalWrites();

        services.AddPostgreSqlConditionalWrites(fixture.ConnectionString);
        await using var provider = services.BuildServiceProvider();

        Assert.Same(provider.GetRequiredService<PostgreSqlVersionedRecordStore>(), provider.GetRequiredService<IVersionedRecordStore>());
        Assert.Same(provider.GetRequiredService<PostgreSqlAppendOnlyStreamStore>(), provider.GetRequiredService<IAppendOnlyStreamStore>());
    }

    [Fact]
    public void AddPostgreSqlConditionalWrites_RegistersEachServiceOnce_WhenCalledTwice()
    {
        var services = new ServiceCollection().AddLogging();

        services.AddPostgreSqlConditionalWrites(fixture.ConnectionString).AddPostgreSqlConditionalWrites(fixture.ConnectionString);

        Assert.Single(services, d => d.ServiceType == typeof(IVersionedRecordStore));
        Assert.Single(services, d => d.ServiceType == typeof(IAppendOnlyStreamStore));
        Assert.Single(services, d => d.ServiceType == typeof(PostgreSqlConditionalWriteDatabase));
        Assert.Single(services, d => d.ServiceType == typeof(IHostedService) && d.ImplementationType == typeof(PostgreSqlConditionalWriteSchemaInitializer));
        Assert.Equal(2, services.Count(d => d.ServiceType == typeof(IValidateOptions<PostgreSqlConditionalWriteOptions>)));
    }

    [Fact]
    public async Task Stores_UseTheRegisteredDataSource_WhenNoneIsConfigured()
    {
        var services = new ServiceCollection().AddLogging();
        services.AddSingleton(fixture.DataSource);
        services.AddIdempotentExecutor().AddPostgreSqlStore(fixture.ConnectionString);

        services.AddPostgreSqlConditionalWrites();
        await using var provider = services.BuildServiceProvider();

        Assert.Same(fixture.DataSource, provider.GetRequiredService<PostgreSqlConditionalWriteDatabase>().DataSource);
    }

    [Fact]
    public async Task Stores_ShareTheIdempotencyStoresDataSource_WhenNoneIsConfiguredOrRegistered()
    {
        var services = new ServiceCollection().AddLogging();
        services.AddIdempotentExecutor().AddPostgreSqlStore(fixture.ConnectionString);

        services.AddPostgreSqlConditionalWrites();
        await using var provider = services.BuildServiceProvider();

        Assert.Same(
            provider.GetRequiredService<PostgreSqlIdempotencyDatabase>().DataSource,
            provider.GetRequiredService<PostgreSqlConditionalWriteDatabase>().DataSource);
    }

    [Fact]
    public async Task Stores_ExplainWhatToSet_WhenThereIsNoDatabase()
    {
        var services = new ServiceCollection().AddLogging();
        services.AddPostgreSqlConditionalWrites();
        await using var provider = services.BuildServiceProvider();

        var exception = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<IAppendOnlyStreamStore>());

        Assert.StartsWith("The PostgreSQL conditional-write stores have no database to use.", exception.Message, StringComparison.Ordinal);
        Assert.Contains("AddPostgreSqlStore", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Host_CreatesTheTablesAtStartUp_WhenCreateSchemaOnStartup()
    {
        var schema = "c_" + Guid.NewGuid().ToString("N");
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddPostgreSqlConditionalWrites(fixture.ConnectionString, o =>
        {
            o.Schema = schema;
            o.CreateSchemaOnStartup = true;
        });
        using var host = builder.Build();

        await host.StartAsync();
        var appended = await host.Services.GetRequiredService<IAppendOnlyStreamStore>().AppendIfLastAsync("s", 0, new byte[] { 1 }, default);
        await host.StopAsync();

        Assert.Equal(ConditionalWriteResult.Applied(1), appended);
        await using var connection = await fixture.DataSource.OpenConnectionAsync();
        Assert.Equal(1, await connection.QuerySingleAsync<int>($"SELECT count(*)::int FROM \"{schema}\".conditional_stream_entries"));
    }

    [Fact]
    public async Task Host_DoesNotCreateTheTables_ByDefault()
    {
        var schema = "c_" + Guid.NewGuid().ToString("N");
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddPostgreSqlConditionalWrites(fixture.ConnectionString, o => o.Schema = schema);
        using var host = builder.Build();

        await host.StartAsync();
        await host.StopAsync();

        await using var connection = await fixture.DataSource.OpenConnectionAsync();
        Assert.False(await connection.QuerySingleAsync<bool>("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = @schema)", new { schema }));
    }

    [Fact]
    public async Task Host_FailsToStart_WhenATableNameIsInvalid()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddPostgreSqlConditionalWrites(fixture.ConnectionString, o => o.StreamEntriesTableName = "Stream-Entries");
        using var host = builder.Build();

        var exception = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("StreamEntriesTableName must be a lower-case PostgreSQL identifier", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Registration_RejectsNullArguments()
    {
        var services = new ServiceCollection();

        Assert.Throws<ArgumentNullException>(() => PostgreSqlConditionalWriteServiceCollectionExtensions.AddPostgreSqlConditionalWrites(null!));
        Assert.Throws<ArgumentNullException>(() => services.AddPostgreSqlConditionalWrites((NpgsqlDataSource)null!));
        Assert.Throws<ArgumentException>(() => services.AddPostgreSqlConditionalWrites(" "));
    }
}
