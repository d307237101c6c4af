using System.Net;
using Dapper;
using Idempotency.PostgreSql.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Idempotency.PostgreSql.Tests.Transactions;

/// <summary>Transactional mode through the real middleware: the claim, the handler's changes and the response commit together.</summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class TransactionalModeTests(PostgreSqlFixture fixture)
{
    // Not a timing assertion: a guard so that a request stuck behind a lock fails the test instead of hanging the run.
    private static readonly TimeSpan s_hangGuard = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task KeyedRequest_CommitsItsChangesAndItsResponseTogether_AndRetriesReplayIt()
    {
        var database = await LedgerDatabase.CreateAsync(fixture.ConnectionString);
        await using var app = await LedgerApp.StartTestServerAsync(database);

        var first = await app.Client!.SendAsync(LedgerApp.Deposit("alice", "k1"));
        var retry = await app.Client.SendAsync(LedgerApp.Deposit("alice", "k1"));

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal(await first.Content.ReadAsStringAsync(), await retry.Content.ReadAsStringAsync());
        Assert.Equal(first.Headers.Location, retry.Headers.Location);
        Assert.False(first.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal("true", Assert.Single(retry.Headers.GetValues("Idempotent-Replayed")));
        Assert.Equal(1, await database.LedgerCountAsync());
        Assert.Equal(PostgreSqlStoreSql.CompletedState, await database.RecordStateAsync("k1"));
    }

    [Fact]
    public async Task HandlerException_RollsBackItsChangesAndTheClaim_SoARetryRunsOnce()
    {
        var database = await LedgerDatabase.CreateAsync(fixture.ConnectionString);
        await using var app = await LedgerApp.StartTestServerAsync(database);

        // TestServer hands the handler's unhandled exception to the client; Kestrel would answer 500.
        var failed = await Assert.ThrowsAsync<InvalidOperationException>(() => app.Client!.SendAsync(LedgerApp.Deposit("alice", "k1", fail: "throw")));
        var countAfterFailure = await database.LedgerCountAsync();
        var recordAfterFailure = await database.RecordStateAsync("k1");
        var retry = await app.Client!.SendAsync(LedgerApp.Deposit("alice", "k1"));

        Assert.Equal("The handler failed after its insert.", failed.Message);
        Assert.Equal(0, countAfterFailure);
        Assert.Null(recordAfterFailure);
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal(1, await database.LedgerCountAsync());
    }

    [Fact]
    public async Task TransientStatus_RollsBackItsChanges_AndTheClientStillGetsTheResponse()
    {
        var database = await LedgerDatabase.CreateAsync(fixture.ConnectionString);
        await using var app = await LedgerApp.StartTestServerAsync(database);

        var response = await app.Client!.SendAsync(LedgerApp.Deposit("alice", "k1", fail: "503"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("try later", await response.Content.ReadAsStringAsync());
        Assert.Equal(0, await database.LedgerCountAsync());
        Assert.Null(await database.RecordStateAsync("k1"));
    }

    [Fact]
    public async Task FailedCommit_Answers503_AndCommitsNothing()
    {
        // The deposit references an unknown account through a deferred foreign key: the COMMIT itself fails.
        var database = await LedgerDatabase.CreateAsync(fixture.ConnectionString);
        await using var app = await LedgerApp.StartTestServerAsync(database);

        var response = await app.Client!.SendAsync(LedgerApp.Deposit("nobody", "k1"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Null(response.Headers.Location);
        Assert.Equal(0, await database.LedgerCountAsync());
        Assert.Null(await database.RecordStateAsync("k1"));
    }

    [Fact]
    public async Task HandlerThatSwallowsADatabaseError_Gets503_AndCommitsNothing()
    {
        var database = await LedgerDatabase.CreateAsync(fixture.ConnectionString);
        await using var app = await LedgerApp.StartTestServerAsync(database);

        var response = await app.Client!.SendAsync(LedgerApp.Deposit("alice", "k1", fail: "abort"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(0, await database.LedgerCountAsync());
        Assert.Null(await database.RecordStateAsync("k1"));
    }

    [Fact]
    public async Task ConcurrentDuplicate_Gets409AtOnce_WhileTheOriginalHoldsItsTransactionOpen()
    {
        var database = await LedgerDatabase.CreateAsync(fixture.ConnectionString);
        var gate = new LedgerGate();
        await using var app = await LedgerApp.StartTestServerAsync(database, gate);

        var original = app.Client!.SendAsync(LedgerApp.Deposit("alice", "k1", hold: "gate"));
        await gate.Entered.WaitAsync(s_hangGuard); // the original has inserted its entry and holds its transaction open
        var duplicate = await app.Client.SendAsync(LedgerApp.Deposit("alice", "k1")).WaitAsync(s_hangGuard);
        var originalWasStillRunning = !original.IsCompleted;
        gate.Open();
        var originalResponse = await original.WaitAsync(s_hangGuard);
        var retry = await app.Client.SendAsync(LedgerApp.Deposit("alice", "k1"));

        Assert.Equal(HttpStatusCode.Conflict, duplicate.StatusCode);
        Assert.True(duplicate.Headers.Contains("Retry-After"));
        Assert.True(originalWasStillRunning);
        Assert.Equal(HttpStatusCode.Created, originalResponse.StatusCode);
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal("true", Assert.Single(retry.Headers.GetValues("Idempotent-Replayed")));
        Assert.Equal(1, await database.LedgerCountAsync());
    }

    [Fact]
    public async Task PlainStoreClaimOfTheSameKey_WhileTheTransactionRuns_MakesTheTransactionCommitNothing()
    {
        // A non-transactional endpoint's store does not take the advisory lock, so it can claim the key while the
        // transaction runs. The completion must then refuse to overwrite that live claim, and must not commit.
        var database = await LedgerDatabase.CreateAsync(fixture.ConnectionString);
        var gate = new LedgerGate();
        await using var app = await LedgerApp.StartTestServerAsync(database, gate);
        await using var dataSource = NpgsqlDataSource.Create(database.ConnectionString);
        var plainStore = new PostgreSqlIdempotencyStore(
            new PostgreSqlIdempotencyDatabase(dataSource, ownsDataSource: false, new PostgreSqlIdempotencyStoreOptions { TableName = database.RecordsTable }),
            Microsoft.Extensions.Logging.Abstractions.NullLogger<PostgreSqlIdempotencyStore>.Instance);

        var original = app.Client!.SendAsync(LedgerApp.Deposit("alice", "k1", hold: "gate"));
        await gate.Entered.WaitAsync(s_hangGuard);
        var plainClaim = await plainStore.ClaimAsync(
            new IdempotencyClaimRequest(IdempotencyStorageKey.Create(string.Empty, "k1"), new byte[32], "plain-owner", TimeSpan.FromMinutes(5)), default);
        gate.Open();
        var response = await original.WaitAsync(s_hangGuard);

        Assert.Equal(ClaimStatus.Claimed, plainClaim.Status);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Null(response.Headers.Location);
        Assert.Equal(0, await database.LedgerCountAsync());
        Assert.Equal(PostgreSqlStoreSql.InFlightState, await database.RecordStateAsync("k1")); // the plain claim, untouched
    }

    [Fact]
    public async Task DuplicateOfACompletedKey_IsReplayed_EvenWhileAnotherTransactionHoldsTheKeysLock()
    {
        var database = await LedgerDatabase.CreateAsync(fixture.ConnectionString);
        await using var app = await LedgerApp.StartTestServerAsync(database);
        var first = await app.Client!.SendAsync(LedgerApp.Deposit("alice", "k1"));

        // Another request replaying the key holds its advisory lock for the length of its transaction.
        var sql = new PostgreSqlStoreSql("public", database.RecordsTable);
        await using var other = await fixture.DataSource.OpenConnectionAsync();
        await using var otherTransaction = await other.BeginTransactionAsync();
        await other.ExecuteAsync(
            "SELECT pg_advisory_xact_lock(@lockKey)",
            new { lockKey = PostgreSqlAdvisoryLocks.For(sql.QualifiedTableName, IdempotencyStorageKey.Create(string.Empty, "k1")) },
            otherTransaction);
        var replay = await app.Client.SendAsync(LedgerApp.Deposit("alice", "k1")).WaitAsync(s_hangGuard);
        var otherKey = await app.Client.SendAsync(LedgerApp.Deposit("alice", "k2")).WaitAsync(s_hangGuard);

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, replay.StatusCode);
        Assert.Equal("true", Assert.Single(replay.Headers.GetValues("Idempotent-Replayed")));
        Assert.Equal(HttpStatusCode.Created, otherKey.StatusCode);
        Assert.Equal(2, await database.LedgerCountAsync());
    }

    [Fact]
    public async Task Handler_GetsOneConnectionAndTransaction_ThroughTheFeatureAndTheScopedService_HoldingTheKeysLock()
    {
        var database = await LedgerDatabase.CreateAsync(fixture.ConnectionString);
        var seen = new List<object?>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddIdempotency().AddPostgreSqlStore(database.ConnectionString, o => o.TableName = database.RecordsTable);
        await using var app = builder.Build();
        app.UseRouting();
        app.UseIdempotency();
        var storageKey = IdempotencyStorageKey.Create(string.Empty, "k1");
        var lockKey = PostgreSqlAdvisoryLocks.For(new PostgreSqlStoreSql("public", database.RecordsTable).QualifiedTableName, storageKey);
        app.MapPost("/inspect", async (HttpContext context, PostgreSqlIdempotentTransaction tx) =>
        {
            var feature = context.Features.Get<IPostgreSqlTransactionFeature>();
            await using var outside = new NpgsqlConnection(database.ConnectionString);
            await outside.OpenAsync();
            await using var other = await outside.BeginTransactionAsync();
            var otherGetsTheKey = await outside.QuerySingleAsync<bool>("SELECT pg_try_advisory_xact_lock(@lockKey)", new { lockKey }, other);
            var committedRecords = await outside.QuerySingleAsync<long>(
                $"SELECT count(*) FROM {database.RecordsTable} WHERE key = @storageKey", new { storageKey }, other);
            seen.AddRange([feature is not null && ReferenceEquals(feature.Connection, tx.Connection) && ReferenceEquals(feature.Transaction, tx.Transaction), tx.IsActive, otherGetsTheKey, committedRecords]);
            return Results.Ok();
        }).RequireIdempotency().WithPostgreSqlTransaction();
        await app.StartAsync();
        using var client = app.GetTestClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/inspect") { Headers = { { "Idempotency-Key", "k1" } } };

        var response = await client.SendAsync(request);
        var stateAfterCommit = await database.RecordStateAsync("k1");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal([true, true, false, 0L], seen);
        Assert.Equal(PostgreSqlStoreSql.CompletedState, stateAfterCommit);
    }

    [Fact]
    public void Transaction_Throws_WithAMessageSayingWhatToAdd_WhenTheRequestIsNotInTransactionalMode()
    {
        var transaction = new PostgreSqlIdempotentTransaction();

        var exception = Assert.Throws<InvalidOperationException>(() => transaction.Connection);

        Assert.False(transaction.IsActive);
        Assert.Contains(".WithPostgreSqlTransaction()", exception.Message, StringComparison.Ordinal);
        Assert.Contains(".RequireIdempotency()", exception.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => transaction.Transaction);
    }
}
