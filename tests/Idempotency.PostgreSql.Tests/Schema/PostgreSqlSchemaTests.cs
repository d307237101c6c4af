using System.Security.Cryptography;
using Dapper;
using Idempotency.PostgreSql.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Idempotency.PostgreSql.Tests.Schema;

[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlSchemaTests(PostgreSqlFixture fixture)
{
    private static readonly byte[] s_fingerprint = SHA256.HashData("a"u8);

    [Fact]
    public async Task ShippedScript_IsIdempotent_WhenRunTwiceAsItIs()
    {
        var database = await fixture.Server.CreateDatabaseAsync();
        await using var dataSource = NpgsqlDataSource.Create(fixture.Server.ConnectionString(database));

        await using (var connection = await dataSource.OpenConnectionAsync())
        {
            await connection.ExecuteAsync(PostgreSqlSchemaScript.Shipped);
            await connection.ExecuteAsync(PostgreSqlSchemaScript.Shipped);
        }

        var store = new PostgreSqlIdempotencyStore(new PostgreSqlIdempotencyDatabase(dataSource, false, new()), NullLogger<PostgreSqlIdempotencyStore>.Instance);
        var claim = await store.ClaimAsync(new IdempotencyClaimRequest("k", s_fingerprint, "owner", TimeSpan.FromMinutes(1)), default);
        await using var check = await dataSource.OpenConnectionAsync();
        var columns = await check.QueryAsync<string>(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'idempotency_records' ORDER BY ordinal_position");
        var indexes = await check.QueryAsync<string>("SELECT indexname FROM pg_indexes WHERE tablename = 'idempotency_records' ORDER BY indexname");

        Assert.Equal(ClaimStatus.Claimed, claim.Status);
        Assert.Equal(["key", "state", "owner_token", "fingerprint", "payload", "format_version", "expires_at", "created_at"], columns);
        Assert.Equal(["idempotency_records_expires_at_idx", "idempotency_records_pkey"], indexes);
    }

    [Fact]
    public void ScriptFor_CustomNames_LeavesNoDefaultName()
    {
        var script = PostgreSqlSchemaScript.For("billing", "idem");
        var statements = string.Join('\n', script.Split('\n').Where(line => !line.TrimStart().StartsWith("--", StringComparison.Ordinal)));

        Assert.StartsWith("CREATE SCHEMA IF NOT EXISTS \"billing\";", script, StringComparison.Ordinal);
        Assert.Contains("CREATE TABLE IF NOT EXISTS \"billing\".\"idem\" (", script, StringComparison.Ordinal);
        Assert.Contains("CREATE INDEX IF NOT EXISTS \"idem_expires_at_idx\" ON \"billing\".\"idem\" (expires_at);", script, StringComparison.Ordinal);
        Assert.DoesNotContain("public", statements, StringComparison.Ordinal);
        Assert.DoesNotContain("idempotency_records", statements, StringComparison.Ordinal);
    }

    [Fact]
    public void ScriptFor_DefaultNames_IsTheShippedScript()
    {
        Assert.Equal(PostgreSqlSchemaScript.Shipped, PostgreSqlSchemaScript.For("public", "idempotency_records"));
    }

    [Fact]
    public async Task SchemaInitializer_CreatesSchemaAndTable_WhenSchemaIsNotPublic()
    {
        var options = new PostgreSqlIdempotencyStoreOptions { Schema = "s_" + Guid.NewGuid().ToString("N"), TableName = "records" };

        var database = await fixture.CreateTableAsync(options);
        var claim = await fixture.CreateStore(database).ClaimAsync(new IdempotencyClaimRequest("k", s_fingerprint, "owner", TimeSpan.FromMinutes(1)), default);

        Assert.Equal(ClaimStatus.Claimed, claim.Status);
    }

    [Fact]
    public async Task SchemaInitializer_Succeeds_WhenManyInstancesStartAtOnce()
    {
        // Concurrent CREATE ... IF NOT EXISTS can fail on the catalogs' unique indexes; the advisory lock serializes them.
        var options = new PostgreSqlIdempotencyStoreOptions { Schema = "s_" + Guid.NewGuid().ToString("N"), TableName = "records" };
        var dataSources = Enumerable.Range(0, 8).Select(_ => NpgsqlDataSource.Create(fixture.ConnectionString)).ToArray();
        try
        {
            using var start = new ManualResetEventSlim();
            var instances = dataSources.Select(dataSource => Task.Run(async () =>
            {
                var initializer = new PostgreSqlSchemaInitializer(new PostgreSqlIdempotencyDatabase(dataSource, false, options), NullLogger<PostgreSqlSchemaInitializer>.Instance);
                start.Wait();
                await initializer.CreateSchemaAsync(default);
            })).ToArray();
            start.Set();

            await Task.WhenAll(instances);
        }
        finally
        {
            foreach (var dataSource in dataSources)
            {
                await dataSource.DisposeAsync();
            }
        }

        await using var connection = await fixture.DataSource.OpenConnectionAsync();
        Assert.True(await connection.QuerySingleAsync<bool>("SELECT to_regclass(@name) IS NOT NULL", new { name = $"\"{options.Schema}\".\"records\"" }));
    }

    [Fact]
    public async Task Store_ThrowsStoreExceptionThatSaysHowToCreateTheTable_WhenTableIsMissing()
    {
        var store = fixture.CreateStore(fixture.Database(new PostgreSqlIdempotencyStoreOptions { TableName = "missing_table" }));

        var exception = await Assert.ThrowsAsync<IdempotencyStoreException>(
            async () => await store.ClaimAsync(new IdempotencyClaimRequest("k", s_fingerprint, "owner", TimeSpan.FromMinutes(1)), default));

        Assert.Contains("\"public\".\"missing_table\" does not exist", exception.Message, StringComparison.Ordinal);
        Assert.Contains("create.sql", exception.Message, StringComparison.Ordinal);
        Assert.Contains("CreateSchemaOnStartup", exception.Message, StringComparison.Ordinal);
        Assert.Equal(PostgresErrorCodes.UndefinedTable, Assert.IsType<PostgresException>(exception.InnerException).SqlState);
    }
}
