using Dapper;
using Idempotency.PostgreSql.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Idempotency.PostgreSql.Tests.ConditionalWrites;

[Collection(PostgreSqlCollection.Name)]
public sealed class ConditionalWriteSchemaTests(PostgreSqlFixture fixture)
{
    [Fact]
    public async Task ShippedScript_IsIdempotent_AndBacksStreamsWithAUniqueIndexOnStreamAndSequence()
    {
        var database = await fixture.Server.CreateDatabaseAsync();
        await using var dataSource = NpgsqlDataSource.Create(fixture.Server.ConnectionString(database));

        await using (var connection = await dataSource.OpenConnectionAsync())
        {
            await connection.ExecuteAsync(PostgreSqlConditionalWriteSchemaScript.Shipped);
            await connection.ExecuteAsync(PostgreSqlConditionalWriteSchemaScript.Shipped);
        }

        var store = new PostgreSqlAppendOnlyStreamStore(new PostgreSqlConditionalWriteDatabase(dataSource, false, new()));
        var appended = await store.AppendIfLastAsync("s", 0, new byte[] { 1 }, default);
        await using var check = await dataSource.OpenConnectionAsync();
        var recordColumns = await ColumnsAsync(check, "conditional_records");
        var entryColumns = await ColumnsAsync(check, "conditional_stream_entries");
        var indexes = await check.QueryAsync<string>(
            "SELECT indexdef FROM pg_indexes WHERE tablename IN ('conditional_records', 'conditional_stream_entries') ORDER BY indexname");

        Assert.Equal(ConditionalWriteResult.Applied(1), appended);
        Assert.Equal(["id", "version", "value"], recordColumns);
        Assert.Equal(["stream", "sequence", "payload"], entryColumns);
        Assert.Equal(
            [
                "CREATE UNIQUE INDEX conditional_records_pkey ON public.conditional_records USING btree (id)",
                "CREATE UNIQUE INDEX conditional_stream_entries_pkey ON public.conditional_stream_entries USING btree (stream, sequence)",
            ],
            indexes);
    }

    [Fact]
    public void ScriptFor_CustomNames_LeavesNoDefaultName()
    {
        var script = PostgreSqlConditionalWriteSchemaScript.For(new PostgreSqlConditionalWriteOptions
        {
            Schema = "ledger",
            RecordsTableName = "versions",
            StreamEntriesTableName = "entries",
        });
        var statements = string.Join('\n', script.Split('\n').Where(line => !line.TrimStart().StartsWith("--", StringComparison.Ordinal)));

        Assert.StartsWith("CREATE SCHEMA IF NOT EXISTS \"ledger\";", script, StringComparison.Ordinal);
        Assert.Contains("CREATE TABLE IF NOT EXISTS \"ledger\".\"versions\" (", script, StringComparison.Ordinal);
        Assert.Contains("CREATE TABLE IF NOT EXISTS \"ledger\".\"entries\" (", script, StringComparison.Ordinal);
        Assert.DoesNotContain("public", statements, StringComparison.Ordinal);
        Assert.DoesNotContain("conditional_", statements, StringComparison.Ordinal);
    }

    [Fact]
    public void ScriptFor_DefaultNames_IsTheShippedScript()
    {
        Assert.Equal(PostgreSqlConditionalWriteSchemaScript.Shipped, PostgreSqlConditionalWriteSchemaScript.For(new PostgreSqlConditionalWriteOptions()));
    }

    [Fact]
    public async Task SchemaInitializer_Succeeds_WhenManyInstancesStartAtOnce_InASchemaOfTheirOwn()
    {
        // Concurrent CREATE ... IF NOT EXISTS can fail on the catalogs' unique indexes; the advisory lock serializes them.
        var options = new PostgreSqlConditionalWriteOptions { Schema = "c_" + Guid.NewGuid().ToString("N"), CreateSchemaOnStartup = true };
        var dataSources = Enumerable.Range(0, 8).Select(_ => NpgsqlDataSource.Create(fixture.ConnectionString)).ToArray();
        try
        {
            using var start = new ManualResetEventSlim();
            var instances = dataSources.Select(dataSource => Task.Run(async () =>
            {
                var initializer = new PostgreSqlConditionalWriteSchemaInitializer(
                    new PostgreSqlConditionalWriteDatabase(dataSource, false, options), NullLogger<PostgreSqlConditionalWriteSchemaInitializer>.Instance);
                start.Wait();
                await initializer.StartAsync(default);
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

        var records = new PostgreSqlVersionedRecordStore(new PostgreSqlConditionalWriteDatabase(fixture.DataSource, false, options));
        Assert.Equal(ConditionalWriteResult.Applied(1), await records.CreateAsync("r", new byte[] { 1 }, default));
    }

    [Fact]
    public async Task SchemaInitializer_DoesNothing_ByDefault()
    {
        var options = new PostgreSqlConditionalWriteOptions { Schema = "c_" + Guid.NewGuid().ToString("N") };
        var initializer = new PostgreSqlConditionalWriteSchemaInitializer(
            new PostgreSqlConditionalWriteDatabase(fixture.DataSource, false, options), NullLogger<PostgreSqlConditionalWriteSchemaInitializer>.Instance);

        await initializer.StartAsync(default);

        await using var connection = await fixture.DataSource.OpenConnectionAsync();
        Assert.False(await connection.QuerySingleAsync<bool>("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = @schema)", new { schema = options.Schema }));
    }

    private static async Task<IEnumerable<string>> ColumnsAsync(NpgsqlConnection connection, string table) =>
        await connection.QueryAsync<string>(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = @table ORDER BY ordinal_position", new { table });
}
