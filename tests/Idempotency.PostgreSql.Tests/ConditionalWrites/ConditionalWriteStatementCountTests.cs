using Dapper;
using Idempotency.PostgreSql.Tests.Infrastructure;
using Npgsql;

namespace Idempotency.PostgreSql.Tests.ConditionalWrites;

/// <summary>
/// Every conditional write is one SQL statement (so one round trip), counted by the server itself: pg_stat_statements
/// in a database that only the stores under test use, reset before each operation. Besides it the server may see
/// Npgsql's pool reset, <c>DISCARD ALL</c>, which travels in the same network write as the next command.
/// </summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class ConditionalWriteStatementCountTests(PostgreSqlFixture fixture) : IAsyncLifetime
{
    private NpgsqlDataSource _admin = null!;
    private NpgsqlDataSource _storeDataSource = null!;
    private ConditionalWriteHost _host = null!;
    private long _databaseId;

    public async Task InitializeAsync()
    {
        var database = await fixture.Server.CreateDatabaseAsync();
        _admin = NpgsqlDataSource.Create(fixture.ConnectionString);
        await using (var connection = await _admin.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
            _databaseId = await connection.QuerySingleAsync<long>("SELECT oid::bigint FROM pg_database WHERE datname = @database", new { database });
        }

        _storeDataSource = NpgsqlDataSource.Create(fixture.Server.ConnectionString(database));
        _host = await ConditionalWriteHost.StartAsync(_storeDataSource);

        // Warm up: the data source's first connection loads type information, which is not the stores' doing.
        await _host.Records.GetAsync("warm-up", default);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _storeDataSource.DisposeAsync();
        await _admin.DisposeAsync();
    }

    [Fact]
    public async Task EveryRecordOperation_IsOneStatement()
    {
        var id = Guid.NewGuid().ToString("N");
        byte[] value = [1, 2, 3];

        var create = await CountAsync(async () => await _host.Records.CreateAsync(id, value, default));
        var createAgain = await CountAsync(async () => await _host.Records.CreateAsync(id, value, default));
        var update = await CountAsync(async () => await _host.Records.UpdateIfVersionAsync(id, 1, value, default));
        var conflict = await CountAsync(async () => await _host.Records.UpdateIfVersionAsync(id, 1, value, default));
        var notFound = await CountAsync(async () => await _host.Records.UpdateIfVersionAsync("missing-" + id, 1, value, default));
        var get = await CountAsync(async () => (await _host.Records.GetAsync(id, default))!.Version);

        Assert.Equal((ConditionalWriteResult.Applied(1), 1L), create);
        Assert.Equal((ConditionalWriteResult.VersionConflict(1), 1L), createAgain);
        Assert.Equal((ConditionalWriteResult.Applied(2), 1L), update);
        Assert.Equal((ConditionalWriteResult.VersionConflict(2), 1L), conflict);
        Assert.Equal((ConditionalWriteResult.NotFound(), 1L), notFound);
        Assert.Equal((2L, 1L), get);
    }

    [Fact]
    public async Task EveryStreamOperation_IsOneStatement()
    {
        var stream = Guid.NewGuid().ToString("N");
        byte[] payload = [1, 2, 3];

        var append = await CountAsync(async () => await _host.Streams.AppendIfLastAsync(stream, 0, payload, default));
        var conflict = await CountAsync(async () => await _host.Streams.AppendIfLastAsync(stream, 0, payload, default));
        var last = await CountAsync(async () => await _host.Streams.GetLastSequenceAsync(stream, default));
        var read = await CountAsync(async () => (await _host.Streams.ReadAsync(stream, 1, 10, default)).Count);

        Assert.Equal((ConditionalWriteResult.Applied(1), 1L), append);
        Assert.Equal((ConditionalWriteResult.VersionConflict(1), 1L), conflict);
        Assert.Equal((1L, 1L), last);
        Assert.Equal((1, 1L), read);
    }

    /// <summary>Runs <paramref name="operation"/> and counts the statements the server executed for it in the stores' database.</summary>
    private async Task<(T Result, long Statements)> CountAsync<T>(Func<Task<T>> operation)
    {
        await using var connection = await _admin.OpenConnectionAsync();
        await connection.ExecuteAsync("SELECT pg_stat_statements_reset(0, @dbid::oid, 0)", new { dbid = _databaseId });
        var result = await operation();
        var all = (await connection.QueryAsync<(string Query, long Calls)>(
            "SELECT query, calls FROM pg_stat_statements WHERE dbid = @dbid::oid", new { dbid = _databaseId })).ToList();
        Assert.InRange(all.Where(s => s.Query == "DISCARD ALL").Sum(s => s.Calls), 0, 1);
        return (result, all.Where(s => s.Query != "DISCARD ALL").Sum(s => s.Calls));
    }
}
