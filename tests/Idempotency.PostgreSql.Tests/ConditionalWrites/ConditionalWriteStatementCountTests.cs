using Idempotency.PostgreSql.Tests.Infrastructure;
using Npgsql;

namespace Idempotency.PostgreSql.Tests.ConditionalWrites;

/// <summary>
/// Every conditional write is one SQL statement (so one round trip), counted by the server itself: pg_stat_statements
/// in a database that only the stores under test use (see <see cref="ServerStatementCounter"/>).
/// </summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class ConditionalWriteStatementCountTests(PostgreSqlFixture fixture) : IAsyncLifetime
{
    private ServerStatementCounter _counter = null!;
    private NpgsqlDataSource _storeDataSource = null!;
    private ConditionalWriteHost _host = null!;

    public async Task InitializeAsync()
    {
        var database = await fixture.Server.CreateDatabaseAsync();
        _counter = await ServerStatementCounter.CreateAsync(fixture.Server, database);

        _storeDataSource = NpgsqlDataSource.Create(fixture.Server.ConnectionString(database));
        _host = await ConditionalWriteHost.StartAsync(_storeDataSource);

        // Warm up: the data source's first connection loads type information, which is not the stores' doing.
        await _host.Records.GetAsync("warm-up", default);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _storeDataSource.DisposeAsync();
        await _counter.DisposeAsync();
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
        var (result, statements) = await _counter.CountAsync(operation);
        return (result, statements.Count);
    }
}
