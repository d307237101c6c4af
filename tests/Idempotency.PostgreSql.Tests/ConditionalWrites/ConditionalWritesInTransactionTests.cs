using System.Text;
using Dapper;
using Idempotency.PostgreSql.Tests.Infrastructure;
using Npgsql;

namespace Idempotency.PostgreSql.Tests.ConditionalWrites;

/// <summary>
/// The stores inside a caller's transaction (<c>WithTransaction(...)</c>): their writes commit and roll back with it,
/// and a writer that meets the transaction's uncommitted write waits for its outcome, then reports the truth.
/// </summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class ConditionalWritesInTransactionTests(PostgreSqlFixture fixture) : IAsyncLifetime
{
    // Not a timing assertion: a guard so that a write that never blocks (or never wakes) fails instead of hanging the run.
    private static readonly TimeSpan s_hangGuard = TimeSpan.FromSeconds(30);

    private ConditionalWriteHost _host = null!;

    public async Task InitializeAsync() => _host = await ConditionalWriteHost.StartAsync(fixture.DataSource);

    public Task DisposeAsync() => _host.DisposeAsync().AsTask();

    [Fact]
    public async Task Append_InACallersTransaction_IsSeenInsideAtOnce_AndByOthersOnlyAfterCommit()
    {
        var stream = NewId();
        await using var connection = await fixture.DataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var inside = _host.Streams.WithTransaction(transaction);

        var appended = await inside.AppendIfLastAsync(stream, 0, Bytes("first"), default);
        var lastInside = await inside.GetLastSequenceAsync(stream, default);
        var lastOutsideBeforeCommit = await _host.Streams.GetLastSequenceAsync(stream, default);
        await transaction.CommitAsync();
        var entries = await _host.Streams.ReadAsync(stream, 1, 10, default);

        Assert.Equal(ConditionalWriteResult.Applied(1), appended);
        Assert.Equal(1, lastInside);
        Assert.Equal(0, lastOutsideBeforeCommit);
        Assert.Equal("first", Text(Assert.Single(entries).Payload));
    }

    [Fact]
    public async Task Append_InACallersTransaction_IsUndoneByRollback()
    {
        var stream = NewId();
        await _host.Streams.AppendIfLastAsync(stream, 0, Bytes("entry 1"), default);
        await using (var connection = await fixture.DataSource.OpenConnectionAsync())
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            Assert.Equal(ConditionalWriteResult.Applied(2), await _host.Streams.WithTransaction(transaction).AppendIfLastAsync(stream, 1, Bytes("rolled back"), default));
            await transaction.RollbackAsync();
        }

        var lastAfterRollback = await _host.Streams.GetLastSequenceAsync(stream, default);
        var again = await _host.Streams.AppendIfLastAsync(stream, 1, Bytes("entry 2"), default);
        var entries = await _host.Streams.ReadAsync(stream, 1, 10, default);

        Assert.Equal(1, lastAfterRollback);
        Assert.Equal(ConditionalWriteResult.Applied(2), again);
        Assert.Equal(["entry 1", "entry 2"], entries.Select(e => Text(e.Payload)));
    }

    [Fact]
    public async Task CreateAndUpdate_InACallersTransaction_AreUndoneByRollback()
    {
        var created = NewId();
        var updated = NewId();
        await _host.Records.CreateAsync(updated, Bytes("v1"), default);
        await using (var connection = await fixture.DataSource.OpenConnectionAsync())
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            var inside = _host.Records.WithTransaction(transaction);
            Assert.Equal(ConditionalWriteResult.Applied(1), await inside.CreateAsync(created, Bytes("new"), default));
            Assert.Equal(ConditionalWriteResult.Applied(2), await inside.UpdateIfVersionAsync(updated, 1, Bytes("v2"), default));
            Assert.Equal("v2", Text((await inside.GetAsync(updated, default))!.Value));
            await transaction.RollbackAsync();
        }

        Assert.Null(await _host.Records.GetAsync(created, default));
        var record = await _host.Records.GetAsync(updated, default);
        Assert.Equal(1, record!.Version);
        Assert.Equal("v1", Text(record.Value));
    }

    [Fact]
    public async Task Append_WaitsForATransactionThatInsertedTheSameEntry_AndAppendsWhenItRollsBack()
    {
        var stream = NewId();
        await _host.Streams.AppendIfLastAsync(stream, 0, Bytes("entry 1"), default);
        await using var holder = await fixture.DataSource.OpenConnectionAsync();
        await using var transaction = await holder.BeginTransactionAsync();
        await _host.Streams.WithTransaction(transaction).AppendIfLastAsync(stream, 1, Bytes("uncommitted"), default);

        var waiting = _host.Streams.AppendIfLastAsync(stream, 1, Bytes("waiter"), default).AsTask();
        await WaitUntilBlockedByAsync(holder, waiting);
        await transaction.RollbackAsync();
        var result = await waiting.WaitAsync(s_hangGuard);

        Assert.Equal(ConditionalWriteResult.Applied(2), result);
        Assert.Equal(["entry 1", "waiter"], (await _host.Streams.ReadAsync(stream, 1, 10, default)).Select(e => Text(e.Payload)));
    }

    [Fact]
    public async Task Append_WaitsForATransactionThatInsertedTheSameEntry_AndReportsHowFarTheStreamGotWhenItCommits()
    {
        // The waiter's snapshot says entry 1 is the last; the unique index says entry 2 is taken. It must not report
        // "conflict with 1" (its own expected entry): it reads again and reports the entry the winner committed, 3.
        var stream = NewId();
        await _host.Streams.AppendIfLastAsync(stream, 0, Bytes("entry 1"), default);
        await using var holder = await fixture.DataSource.OpenConnectionAsync();
        await using var transaction = await holder.BeginTransactionAsync();
        var winner = _host.Streams.WithTransaction(transaction);
        await winner.AppendIfLastAsync(stream, 1, Bytes("entry 2"), default);
        await winner.AppendIfLastAsync(stream, 2, Bytes("entry 3"), default);

        var waiting = _host.Streams.AppendIfLastAsync(stream, 1, Bytes("loser"), default).AsTask();
        await WaitUntilBlockedByAsync(holder, waiting);
        await transaction.CommitAsync();
        var result = await waiting.WaitAsync(s_hangGuard);

        Assert.Equal(ConditionalWriteResult.VersionConflict(3), result);
        Assert.DoesNotContain(await _host.Streams.ReadAsync(stream, 1, 10, default), e => Text(e.Payload) == "loser");
    }

    [Fact]
    public async Task UpdateIfVersion_WaitsForATransactionThatUpdatedTheRecord_AndReportsTheVersionItCommitted()
    {
        // Regression guard for the statement's locking read: without FOR SHARE (or with FOR KEY SHARE) the waiter
        // reports the version of its snapshot, 1, which is the very version it expected.
        var id = NewId();
        await _host.Records.CreateAsync(id, Bytes("v1"), default);
        await using var holder = await fixture.DataSource.OpenConnectionAsync();
        await using var transaction = await holder.BeginTransactionAsync();
        await _host.Records.WithTransaction(transaction).UpdateIfVersionAsync(id, 1, Bytes("winner"), default);

        var waiting = _host.Records.UpdateIfVersionAsync(id, 1, Bytes("loser"), default).AsTask();
        await WaitUntilBlockedByAsync(holder, waiting);
        await transaction.CommitAsync();
        var result = await waiting.WaitAsync(s_hangGuard);

        Assert.Equal(ConditionalWriteResult.VersionConflict(2), result);
        Assert.Equal("winner", Text((await _host.Records.GetAsync(id, default))!.Value));
    }

    [Fact]
    public async Task UpdateIfVersion_WaitsForATransactionThatUpdatedTheRecord_AndAppliesWhenItRollsBack()
    {
        var id = NewId();
        await _host.Records.CreateAsync(id, Bytes("v1"), default);
        await using var holder = await fixture.DataSource.OpenConnectionAsync();
        await using var transaction = await holder.BeginTransactionAsync();
        await _host.Records.WithTransaction(transaction).UpdateIfVersionAsync(id, 1, Bytes("rolled back"), default);

        var waiting = _host.Records.UpdateIfVersionAsync(id, 1, Bytes("waiter"), default).AsTask();
        await WaitUntilBlockedByAsync(holder, waiting);
        await transaction.RollbackAsync();
        var result = await waiting.WaitAsync(s_hangGuard);

        Assert.Equal(ConditionalWriteResult.Applied(2), result);
        Assert.Equal("waiter", Text((await _host.Records.GetAsync(id, default))!.Value));
    }

    [Fact]
    public async Task Create_WaitsForATransactionThatCreatedTheRecord_AndReportsTheVersionItCommitted()
    {
        var id = NewId();
        await using var holder = await fixture.DataSource.OpenConnectionAsync();
        await using var transaction = await holder.BeginTransactionAsync();
        var winner = _host.Records.WithTransaction(transaction);
        await winner.CreateAsync(id, Bytes("v1"), default);
        await winner.UpdateIfVersionAsync(id, 1, Bytes("v2"), default);

        var waiting = _host.Records.CreateAsync(id, Bytes("loser"), default).AsTask();
        await WaitUntilBlockedByAsync(holder, waiting);
        await transaction.CommitAsync();
        var result = await waiting.WaitAsync(s_hangGuard);

        Assert.Equal(ConditionalWriteResult.VersionConflict(2), result);
        Assert.Equal("v2", Text((await _host.Records.GetAsync(id, default))!.Value));
    }

    [Fact]
    public async Task Append_UnderRepeatableRead_FailsWithASerializationFailure_WhenAnotherTransactionCommittedTheEntryMeanwhile()
    {
        var stream = NewId();
        await using var connection = await fixture.DataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead);
        var inside = _host.Streams.WithTransaction(transaction);
        Assert.Equal(0, await inside.GetLastSequenceAsync(stream, default)); // takes the transaction's snapshot
        await _host.Streams.AppendIfLastAsync(stream, 0, Bytes("committed meanwhile"), default);

        var failure = await Assert.ThrowsAsync<PostgresException>(async () => await inside.AppendIfLastAsync(stream, 0, Bytes("late"), default));

        Assert.Equal(PostgresErrorCodes.SerializationFailure, failure.SqlState);
        Assert.Equal(["committed meanwhile"], (await _host.Streams.ReadAsync(stream, 1, 10, default)).Select(e => Text(e.Payload)));
    }

    [Fact]
    public async Task ABoundStore_RefusesToWrite_AfterTheTransactionHasEnded()
    {
        var stream = NewId();
        await using var connection = await fixture.DataSource.OpenConnectionAsync();
        var transaction = await connection.BeginTransactionAsync();
        var bound = _host.Streams.WithTransaction(transaction);
        await transaction.CommitAsync();

        await Assert.ThrowsAsync<InvalidOperationException>(async () => await bound.AppendIfLastAsync(stream, 0, Bytes("x"), default));

        Assert.Equal(0, await _host.Streams.GetLastSequenceAsync(stream, default));
    }

    [Fact]
    public async Task AnIdWithU0000_IsRefusedBeforeAnyStatement_SoTheCallersTransactionGoesOn()
    {
        var stream = NewId();
        await using var connection = await fixture.DataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var inside = _host.Streams.WithTransaction(transaction);

        var refused = await Assert.ThrowsAsync<ArgumentException>(async () => await inside.AppendIfLastAsync("bad\0id", 0, Bytes("x"), default));
        var appended = await inside.AppendIfLastAsync(stream, 0, Bytes("x"), default);
        await transaction.CommitAsync();

        Assert.Equal("stream", refused.ParamName);
        Assert.Equal(ConditionalWriteResult.Applied(1), appended);
    }

    [Fact]
    public async Task Stores_ThrowAStoreExceptionThatSaysHowToCreateTheTables_WhenTheTablesAreMissing()
    {
        await using var host = await ConditionalWriteHost.StartAsync(fixture.DataSource, o => o.CreateSchemaOnStartup = false);

        var append = await Assert.ThrowsAsync<IdempotencyStoreException>(async () => await host.Streams.AppendIfLastAsync(NewId(), 0, Bytes("x"), default));
        var update = await Assert.ThrowsAsync<IdempotencyStoreException>(async () => await host.Records.UpdateIfVersionAsync(NewId(), 1, Bytes("x"), default));

        Assert.Contains($"{host.StreamEntriesTable} are missing", append.Message, StringComparison.Ordinal);
        Assert.Contains("conditional-writes.sql", append.Message, StringComparison.Ordinal);
        Assert.Contains("CreateSchemaOnStartup", append.Message, StringComparison.Ordinal);
        Assert.Equal(PostgresErrorCodes.UndefinedTable, Assert.IsType<PostgresException>(append.InnerException).SqlState);
        Assert.Equal(PostgresErrorCodes.UndefinedTable, Assert.IsType<PostgresException>(update.InnerException).SqlState);
    }

    /// <summary>Waits until another backend is blocked by <paramref name="holder"/>'s locks, or fails if <paramref name="write"/> finishes first.</summary>
    private async Task WaitUntilBlockedByAsync(NpgsqlConnection holder, Task write)
    {
        await using var observer = await fixture.DataSource.OpenConnectionAsync();
        using var guard = new CancellationTokenSource(s_hangGuard);
        while (await observer.QuerySingleAsync<int>(
                   "SELECT count(*)::int FROM pg_stat_activity WHERE @holder = ANY(pg_blocking_pids(pid))", new { holder = holder.ProcessID }) == 0)
        {
            Assert.False(write.IsCompleted, "The write finished without waiting for the open transaction.");
            await Task.Delay(10, guard.Token);
        }
    }

    private static string NewId() => "id-" + Guid.NewGuid().ToString("N");

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    private static string Text(ReadOnlyMemory<byte> bytes) => Encoding.UTF8.GetString(bytes.Span);
}
