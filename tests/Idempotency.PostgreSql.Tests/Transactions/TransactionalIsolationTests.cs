using System.Data;
using System.Diagnostics.Metrics;
using System.Net;
using Dapper;
using Idempotency.PostgreSql.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Npgsql;

namespace Idempotency.PostgreSql.Tests.Transactions;

/// <summary>
/// Transactional mode under every isolation level. Under Repeatable Read and Serializable a transaction sees the
/// database as of its first statement's snapshot: a duplicate must never decide "the key is mine" on a snapshot taken
/// before the original committed, or it runs the handler again.
/// </summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class TransactionalIsolationTests(PostgreSqlFixture fixture)
{
    // Not a timing assertion: a guard so that a request stuck behind a lock fails the test instead of hanging the run.
    private static readonly TimeSpan s_hangGuard = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData(IsolationLevel.ReadCommitted)]
    [InlineData(IsolationLevel.RepeatableRead)]
    [InlineData(IsolationLevel.Serializable)]
    public async Task DuplicateThatWaitedForTheOriginalsCommit_ReplaysIt_AndTheHandlerRunsOnce(IsolationLevel isolationLevel)
    {
        var database = await LedgerDatabase.CreateAsync(fixture.ConnectionString);
        var gate = new LedgerGate();
        await using var app = await LedgerApp.StartTestServerAsync(database, gate, isolationLevel, waitForInFlightDuplicates: true);
        using var storeCalls = new MetricCollector<double>(app.Services.GetRequiredService<IMeterFactory>(), IdempotencyTelemetry.MeterName, "idempotency.store.duration");

        var original = app.Client!.SendAsync(LedgerApp.Deposit("alice", "k1", hold: "gate"));
        await gate.Entered.WaitAsync(s_hangGuard); // the original holds the key, its entry inserted, its transaction open
        var duplicate = app.Client.SendAsync(LedgerApp.Deposit("alice", "k1"));
        // Two claims so far: the original's, and the duplicate's first, which found the key in flight. The duplicate
        // now polls, with whatever its first claim left behind (under the old code, its transaction's snapshot).
        await storeCalls.WaitForMeasurementsAsync(minCount: 2).WaitAsync(s_hangGuard);
        var claimsBeforeTheCommit = storeCalls.GetMeasurementSnapshot().Count;
        gate.Open();
        var originalResponse = await original.WaitAsync(s_hangGuard);
        var duplicateResponse = await duplicate.WaitAsync(s_hangGuard);

        Assert.Equal(2, claimsBeforeTheCommit);
        Assert.Equal(HttpStatusCode.Created, originalResponse.StatusCode);
        Assert.Equal(HttpStatusCode.Created, duplicateResponse.StatusCode);
        Assert.Equal("true", Assert.Single(duplicateResponse.Headers.GetValues("Idempotent-Replayed")));
        Assert.Equal(await originalResponse.Content.ReadAsStringAsync(), await duplicateResponse.Content.ReadAsStringAsync());
        Assert.Equal(1, app.HandlerRuns);
        Assert.Equal(1, await database.LedgerCountAsync());
    }

    [Theory]
    [InlineData(IsolationLevel.RepeatableRead)]
    [InlineData(IsolationLevel.Serializable)]
    public async Task ConcurrentDuplicates_ThatWait_RunTheHandlerOnce_AndAllGetItsResponse(IsolationLevel isolationLevel)
    {
        const int requests = 16;
        var database = await LedgerDatabase.CreateAsync(fixture.ConnectionString);
        await using var app = await LedgerApp.StartTestServerAsync(database, gate: null, isolationLevel, waitForInFlightDuplicates: true);

        var responses = await Task.WhenAll(Enumerable.Range(0, requests)
            .Select(_ => Task.Run(() => app.Client!.SendAsync(LedgerApp.Deposit("alice", "k1")))))
            .WaitAsync(s_hangGuard);

        var bodies = await Task.WhenAll(responses.Select(r => r.Content.ReadAsStringAsync()));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.Created, r.StatusCode));
        Assert.Single(bodies.Distinct());
        Assert.Equal(requests - 1, responses.Count(r => r.Headers.Contains("Idempotent-Replayed")));
        Assert.Equal(1, app.HandlerRuns);
        Assert.Equal(1, await database.LedgerCountAsync());
    }

    [Theory]
    [InlineData(IsolationLevel.ReadCommitted)]
    [InlineData(IsolationLevel.RepeatableRead)]
    [InlineData(IsolationLevel.Serializable)]
    public async Task EveryOutcome_LeavesTheKeysLockFree_ForTheNextRequest(IsolationLevel isolationLevel)
    {
        var database = await LedgerDatabase.CreateAsync(fixture.ConnectionString);
        var gate = new LedgerGate();
        await using var app = await LedgerApp.StartTestServerAsync(database, gate, isolationLevel);
        var free = new List<bool>();

        var transient = await app.Client!.SendAsync(LedgerApp.Deposit("alice", "k1", fail: "503"));
        free.Add(await LockIsFreeAsync(database, "k1"));
        await Assert.ThrowsAsync<InvalidOperationException>(() => app.Client.SendAsync(LedgerApp.Deposit("alice", "k1", fail: "throw")));
        free.Add(await LockIsFreeAsync(database, "k1"));
        var failedCommit = await app.Client.SendAsync(LedgerApp.Deposit("nobody", "k2"));
        free.Add(await LockIsFreeAsync(database, "k2"));
        var original = app.Client.SendAsync(LedgerApp.Deposit("alice", "k1", hold: "gate"));
        await gate.Entered.WaitAsync(s_hangGuard);
        var inFlight = await app.Client.SendAsync(LedgerApp.Deposit("alice", "k1")).WaitAsync(s_hangGuard);
        gate.Open();
        var created = await original.WaitAsync(s_hangGuard);
        free.Add(await LockIsFreeAsync(database, "k1"));
        var replay = await app.Client.SendAsync(LedgerApp.Deposit("alice", "k1"));
        free.Add(await LockIsFreeAsync(database, "k1"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, transient.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, failedCommit.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, inFlight.StatusCode);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal("true", Assert.Single(replay.Headers.GetValues("Idempotent-Replayed")));
        Assert.Equal([true, true, true, true, true], free);
        Assert.Equal(1, await database.LedgerCountAsync());
        Assert.Equal(4, app.HandlerRuns);
    }

    /// <summary>Whether another session can take the key's advisory lock now (it lets go of it at once).</summary>
    private static async Task<bool> LockIsFreeAsync(LedgerDatabase database, string clientKey)
    {
        var lockKey = PostgreSqlAdvisoryLocks.For(
            new PostgreSqlStoreSql("public", database.RecordsTable).QualifiedTableName, IdempotencyStorageKey.Create(string.Empty, clientKey));
        await using var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        var taken = await connection.QuerySingleAsync<bool>("SELECT pg_try_advisory_lock(@lockKey)", new { lockKey });
        if (taken)
        {
            await connection.ExecuteAsync("SELECT pg_advisory_unlock(@lockKey)", new { lockKey });
        }

        return taken;
    }
}
