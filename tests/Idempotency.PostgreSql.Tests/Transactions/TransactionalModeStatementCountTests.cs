using System.Data;
using System.Net;
using Idempotency.PostgreSql.Tests.Infrastructure;

namespace Idempotency.PostgreSql.Tests.Transactions;

/// <summary>
/// What one request costs in transactional mode, counted by the server (pg_stat_statements in a database of its own).
/// A new request is three round trips besides the handler's: the claim (BEGIN, the key's advisory lock and the read of
/// its record, which Npgsql sends in one write), the handler's statements, and the completion (the record's INSERT and
/// COMMIT, one batch). A replay is the claim and ROLLBACK.
/// </summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class TransactionalModeStatementCountTests(PostgreSqlFixture fixture) : IAsyncLifetime
{
    private ServerStatementCounter _counter = null!;
    private LedgerDatabase _database = null!;
    private LedgerApp _app = null!;

    public async Task InitializeAsync()
    {
        var name = await fixture.Server.CreateDatabaseAsync();
        _counter = await ServerStatementCounter.CreateAsync(fixture.Server, name);
        _database = await LedgerDatabase.CreateAsync(fixture.Server.ConnectionString(name));
        _app = await LedgerApp.StartTestServerAsync(_database);
        await _app.Client!.SendAsync(LedgerApp.Deposit("alice", "warm-up")); // loads Npgsql's type information first
    }

    public async Task DisposeAsync()
    {
        await _app.DisposeAsync();
        await _counter.DisposeAsync();
    }

    [Fact]
    public async Task NewRequest_IsClaimHandlerAndCompletionWithCommit_AndAReplayIsClaimAndRollback()
    {
        var created = await CountAsync(() => _app.Client!.SendAsync(LedgerApp.Deposit("alice", "k1")));
        var replayed = await CountAsync(() => _app.Client!.SendAsync(LedgerApp.Deposit("alice", "k1")));

        var committedState = await _database.RecordStateAsync("k1");

        Assert.Equal(HttpStatusCode.Created, created.Response.StatusCode);
        // The COMMIT travels in the completion's batch as a prepared statement, which pg_stat_statements does not
        // record; that it ran shows in the record, visible from another connection as soon as the response arrived.
        Assert.Equal(["BEGIN", "INSERT", "INSERT", "SELECT", "SELECT"], created.Statements);
        Assert.Equal(PostgreSqlStoreSql.CompletedState, committedState);
        Assert.Equal("true", Assert.Single(replayed.Response.Headers.GetValues("Idempotent-Replayed")));
        Assert.Equal(["BEGIN", "ROLLBACK", "SELECT", "SELECT"], replayed.Statements);
    }

    [Fact]
    public async Task UnderRepeatableRead_TheKeyIsLockedAndReadBeforeBegin_AndLetGoOfWithTheCommit_AndAReplayIsOneRoundTrip()
    {
        await using var app = await LedgerApp.StartTestServerAsync(_database, isolationLevel: IsolationLevel.RepeatableRead);
        await app.Client!.SendAsync(LedgerApp.Deposit("alice", "rr-warm-up"));

        var created = await CountAsync(() => app.Client.SendAsync(LedgerApp.Deposit("alice", "rr-k1")));
        var replayed = await CountAsync(() => app.Client.SendAsync(LedgerApp.Deposit("alice", "rr-k1")));

        Assert.Equal(HttpStatusCode.Created, created.Response.StatusCode);
        // The session lock and the read (SELECT, SELECT) come before BEGIN, which travels with the handler's INSERT;
        // then the record's INSERT, the COMMIT (prepared, not recorded) and the unlock (SELECT), in one batch.
        Assert.Equal(["BEGIN", "INSERT", "INSERT", "SELECT", "SELECT", "SELECT"], created.Statements);
        Assert.Equal(PostgreSqlStoreSql.CompletedState, await _database.RecordStateAsync("rr-k1"));
        Assert.Equal("true", Assert.Single(replayed.Response.Headers.GetValues("Idempotent-Replayed")));
        // A replay: the lock (not taken: the record is there) and the read; no transaction, nothing to let go of.
        Assert.Equal(["SELECT", "SELECT"], replayed.Statements);
    }

    /// <summary>
    /// The first word of every statement the server ran for <paramref name="request"/>, one entry per execution, without
    /// the foreign-key check the server runs by itself at COMMIT.
    /// </summary>
    private async Task<(HttpResponseMessage Response, List<string> Statements)> CountAsync(Func<Task<HttpResponseMessage>> request)
    {
        var (response, statements) = await _counter.CountAsync(request);
        var verbs = statements
            .Where(s => !s.Contains(_database.AccountsTable, StringComparison.Ordinal))
            .Select(ServerStatementCounter.Verb)
            .Order(StringComparer.Ordinal)
            .ToList();
        return (response, verbs);
    }
}
