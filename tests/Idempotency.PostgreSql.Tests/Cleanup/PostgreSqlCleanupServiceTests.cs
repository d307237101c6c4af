using Dapper;
using Idempotency.PostgreSql.Tests.Infrastructure;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Idempotency.PostgreSql.Tests.Cleanup;

/// <summary>Each test uses a table of its own, so it can count rows without seeing other tests' records.</summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlCleanupServiceTests(PostgreSqlFixture fixture)
{
    [Fact]
    public async Task DeleteExpired_DeletesOnlyExpiredRecords_InFlightAndCompleted()
    {
        var database = await fixture.CreateTableAsync(PostgreSqlFixture.IsolatedTable("cleanup"));
        await InsertAsync(database, "expired-completed", PostgreSqlStoreSql.CompletedState, TimeSpan.FromSeconds(-1));
        await InsertAsync(database, "expired-in-flight", PostgreSqlStoreSql.InFlightState, TimeSpan.FromMinutes(-5));
        await InsertAsync(database, "live-completed", PostgreSqlStoreSql.CompletedState, TimeSpan.FromHours(1));
        await InsertAsync(database, "live-in-flight", PostgreSqlStoreSql.InFlightState, TimeSpan.FromMinutes(1));

        var deleted = await CreateService(database).DeleteExpiredAsync(default);

        Assert.Equal(2, deleted);
        Assert.Equal(["live-completed", "live-in-flight"], await KeysAsync(database));
    }

    [Fact]
    public async Task DeleteExpired_KeepsAnInFlightRecord_UntilItsLeaseEndedMoreThanTheGraceAgo()
    {
        var database = await fixture.CreateTableAsync(PostgreSqlFixture.IsolatedTable("cleanup")); // the default grace: 1 minute
        await InsertAsync(database, "in-flight-within-grace", PostgreSqlStoreSql.InFlightState, TimeSpan.FromSeconds(-30));
        await InsertAsync(database, "in-flight-past-grace", PostgreSqlStoreSql.InFlightState, TimeSpan.FromMinutes(-2));
        await InsertAsync(database, "completed-just-expired", PostgreSqlStoreSql.CompletedState, TimeSpan.FromSeconds(-1));

        var deleted = await CreateService(database).DeleteExpiredAsync(default);

        Assert.Equal(2, deleted);
        Assert.Equal(["in-flight-within-grace"], await KeysAsync(database));
    }

    [Fact]
    public async Task DeleteExpiredBatch_DeletesAtMostOneBatch_OldestFirst()
    {
        var database = await fixture.CreateTableAsync(PostgreSqlFixture.IsolatedTable("cleanup"));
        database.Options.CleanupBatchSize = 10;
        for (var i = 0; i < 25; i++)
        {
            // expired-00 expired longest ago.
            await InsertAsync(database, $"expired-{i:00}", PostgreSqlStoreSql.CompletedState, TimeSpan.FromMinutes(-100 + i));
        }

        var firstBatch = await CreateService(database).DeleteExpiredBatchAsync(default);

        Assert.Equal(10, firstBatch);
        Assert.Equal(Enumerable.Range(10, 15).Select(i => $"expired-{i:00}"), await KeysAsync(database));
    }

    [Fact]
    public async Task DeleteExpired_RepeatsBatches_UntilNoExpiredRecordIsLeft()
    {
        var database = await fixture.CreateTableAsync(PostgreSqlFixture.IsolatedTable("cleanup"));
        database.Options.CleanupBatchSize = 10;
        for (var i = 0; i < 25; i++)
        {
            await InsertAsync(database, $"expired-{i:00}", PostgreSqlStoreSql.CompletedState, TimeSpan.FromMinutes(-1));
        }

        await InsertAsync(database, "live", PostgreSqlStoreSql.CompletedState, TimeSpan.FromHours(1));

        var deleted = await CreateService(database).DeleteExpiredAsync(default);

        Assert.Equal(25, deleted);
        Assert.Equal(["live"], await KeysAsync(database));
    }

    [Fact]
    public async Task CleanupService_DeletesExpiredRecords_OnlyWhenTheIntervalElapses()
    {
        var database = await fixture.CreateTableAsync(PostgreSqlFixture.IsolatedTable("cleanup"));
        database.Options.CleanupInterval = TimeSpan.FromMinutes(5);
        await InsertAsync(database, "expired", PostgreSqlStoreSql.CompletedState, TimeSpan.FromMinutes(-1));
        var time = new FakeTimeProvider();
        using var service = CreateService(database, time);

        await service.StartAsync(default);
        time.Advance(TimeSpan.FromMinutes(4));
        var beforeInterval = await KeysAsync(database);
        time.Advance(TimeSpan.FromMinutes(1));
        var afterInterval = await WaitForKeysAsync(database, keys => keys.Count == 0);
        await service.StopAsync(default);

        Assert.Equal(["expired"], beforeInterval);
        Assert.Empty(afterInterval);
    }

    [Fact]
    public async Task CleanupService_KeepsRunning_AfterARunFails()
    {
        var options = PostgreSqlFixture.IsolatedTable("cleanup");
        var database = fixture.Database(options); // the table does not exist yet: the first run fails
        var time = new FakeTimeProvider();
        var logs = new FakeLogCollector();
        using var service = new PostgreSqlCleanupService(database, time, new FakeLogger<PostgreSqlCleanupService>(logs));

        await service.StartAsync(default);
        time.Advance(database.Options.CleanupInterval);
        await WaitForAsync(() => logs.GetSnapshot().Any(r => r.Id.Name == "PostgreSqlCleanupFailed"));
        await fixture.CreateTableAsync(options);
        await InsertAsync(database, "expired", PostgreSqlStoreSql.CompletedState, TimeSpan.FromMinutes(-1));
        time.Advance(database.Options.CleanupInterval);
        var afterSecondRun = await WaitForKeysAsync(database, keys => keys.Count == 0);
        await service.StopAsync(default);

        var failure = Assert.Single(logs.GetSnapshot(), r => r.Id.Name == "PostgreSqlCleanupFailed");
        Assert.Equal(LogLevel.Warning, failure.Level);
        Assert.IsType<IdempotencyStoreException>(failure.Exception);
        Assert.False(service.ExecuteTask!.IsFaulted);
        Assert.Empty(afterSecondRun);
    }

    [Fact]
    public async Task CleanupService_DoesNotRun_WhenDisabled()
    {
        var database = await fixture.CreateTableAsync(PostgreSqlFixture.IsolatedTable("cleanup"));
        database.Options.EnableCleanup = false;
        await InsertAsync(database, "expired", PostgreSqlStoreSql.CompletedState, TimeSpan.FromMinutes(-1));
        var time = new FakeTimeProvider();
        using var service = CreateService(database, time);

        await service.StartAsync(default);
        time.Advance(TimeSpan.FromHours(1));
        await service.ExecuteTask!;

        Assert.Equal(["expired"], await KeysAsync(database));
    }

    private static PostgreSqlCleanupService CreateService(PostgreSqlIdempotencyDatabase database, TimeProvider? time = null) =>
        new(database, time ?? TimeProvider.System, NullLogger<PostgreSqlCleanupService>.Instance);

    private static async Task InsertAsync(PostgreSqlIdempotencyDatabase database, string key, short state, TimeSpan expiresIn)
    {
        await using var connection = await database.DataSource.OpenConnectionAsync();
        await connection.ExecuteAsync(
            $"""
            INSERT INTO {database.Sql.QualifiedTableName} (key, state, owner_token, fingerprint, payload, format_version, expires_at, created_at)
            VALUES (@key, @state, CASE WHEN @state = 1 THEN 'owner' END, '\x00'::bytea, CASE WHEN @state = 2 THEN '\x01'::bytea END, 1,
                    clock_timestamp() + @seconds * interval '1 second', clock_timestamp())
            """,
            new { key, state, seconds = expiresIn.TotalSeconds });
    }

    private static async Task<List<string>> KeysAsync(PostgreSqlIdempotencyDatabase database)
    {
        await using var connection = await database.DataSource.OpenConnectionAsync();
        return (await connection.QueryAsync<string>($"SELECT key FROM {database.Sql.QualifiedTableName} ORDER BY key")).ToList();
    }

    // The service runs on its own task after the fake clock fires: poll for its effect, bounded so a broken service fails.
    private static async Task<List<string>> WaitForKeysAsync(PostgreSqlIdempotencyDatabase database, Func<List<string>, bool> condition)
    {
        List<string> keys = [];
        await WaitForAsync(async () => condition(keys = await KeysAsync(database)));
        return keys;
    }

    private static Task WaitForAsync(Func<bool> condition) => WaitForAsync(() => Task.FromResult(condition()));

    private static async Task WaitForAsync(Func<Task<bool>> condition)
    {
        for (var i = 0; i < 400 && !await condition(); i++)
        {
            await Task.Delay(25);
        }
    }
}
