using System.Net;
using Idempotency.EntityFrameworkCore.Tests.Infrastructure;

namespace Idempotency.EntityFrameworkCore.Tests.Http;

[Collection(EfCoreCollection.Name)]
public sealed class EntityFrameworkCoreTransactionEndpointTests(EfCoreFixture fixture)
{
    [Fact]
    public async Task SixtyFourConcurrentDuplicates_OverTwoInstances_ExecuteOnce()
    {
        var db = await fixture.CreateLedgerDatabaseAsync();
        await using var first = await LedgerWebApp.StartAsync(db);
        await using var second = await LedgerWebApp.StartAsync(db);

        var responses = await Task.WhenAll(Enumerable.Range(0, 64).Select(i =>
            (i % 2 == 0 ? first : second).Client.SendAsync(LedgerWebApp.Deposit("alice", "dup-1"))));

        Assert.Equal(1, first.HandlerRuns + second.HandlerRuns);
        Assert.All(responses, r => Assert.Contains(r.StatusCode, new[] { HttpStatusCode.Created, HttpStatusCode.Conflict }));
        var created = responses.Where(r => r.StatusCode == HttpStatusCode.Created).ToArray();
        Assert.NotEmpty(created);
        var bodies = await Task.WhenAll(created.Select(r => r.Content.ReadAsStringAsync()));
        Assert.Single(bodies.Distinct());
        Assert.Equal(1, await EfCoreFixture.CountAsync(db, "SELECT count(*) FROM ledger_entries"));
        Assert.Equal(1, await EfCoreFixture.CountAsync(db, "SELECT count(*) FROM idempotency_records WHERE state = 2"));
    }

    [Fact]
    public async Task Replay_ReturnsTheOriginalStatusHeadersAndBytes_FromTheOtherInstance()
    {
        var db = await fixture.CreateLedgerDatabaseAsync();
        await using var first = await LedgerWebApp.StartAsync(db);
        await using var second = await LedgerWebApp.StartAsync(db);

        using var original = await first.Client.SendAsync(LedgerWebApp.Deposit("alice", "replay-1"));
        using var replay = await second.Client.SendAsync(LedgerWebApp.Deposit("alice", "replay-1"));

        Assert.Equal(HttpStatusCode.Created, original.StatusCode);
        Assert.Equal(original.StatusCode, replay.StatusCode);
        Assert.Equal(original.Headers.Location, replay.Headers.Location);
        Assert.Equal(original.Content.Headers.ContentType, replay.Content.Headers.ContentType);
        Assert.Equal(await original.Content.ReadAsByteArrayAsync(), await replay.Content.ReadAsByteArrayAsync());
        Assert.Equal("true", Assert.Single(replay.Headers.GetValues("Idempotent-Replayed")));
        Assert.False(original.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(1, first.HandlerRuns + second.HandlerRuns);
        Assert.Equal(1, await EfCoreFixture.CountAsync(db, "SELECT count(*) FROM ledger_entries"));
    }

    [Fact]
    public async Task HandlerThrows_CommitsNothing_AndReleasesTheKey()
    {
        var db = await fixture.CreateLedgerDatabaseAsync();
        await using var app = await LedgerWebApp.StartAsync(db);

        using var failed = await app.Client.SendAsync(LedgerWebApp.Deposit("alice", "throw-1", fail: "throw"));
        Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
        Assert.Equal(0, await EfCoreFixture.CountAsync(db, "SELECT count(*) FROM ledger_entries"));
        Assert.Equal(0, await EfCoreFixture.CountAsync(db, "SELECT count(*) FROM idempotency_records"));

        using var retry = await app.Client.SendAsync(LedgerWebApp.Deposit("alice", "throw-1"));

        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal(2, app.HandlerRuns);
        Assert.Equal(1, await EfCoreFixture.CountAsync(db, "SELECT count(*) FROM ledger_entries"));
    }

    [Fact]
    public async Task FailedCommit_CommitsNothing_AnswersServiceUnavailable_AndTheRetryRuns()
    {
        var db = await fixture.CreateLedgerDatabaseAsync();
        var terminate = new TerminateOnCommitInterceptor(db);
        await using var app = await LedgerWebApp.StartAsync(db, interceptors: terminate);

        using var failed = await app.Client.SendAsync(LedgerWebApp.Deposit("alice", "commit-1"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, failed.StatusCode);
        Assert.Equal(1, terminate.Terminated);
        Assert.Equal(0, await EfCoreFixture.CountAsync(db, "SELECT count(*) FROM ledger_entries"));
        Assert.Equal(0, await EfCoreFixture.CountAsync(db, "SELECT count(*) FROM idempotency_records"));

        using var retry = await app.Client.SendAsync(LedgerWebApp.Deposit("alice", "commit-1"));

        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal(2, app.HandlerRuns);
        Assert.Equal(1, await EfCoreFixture.CountAsync(db, "SELECT count(*) FROM ledger_entries"));
    }

    [Fact]
    public async Task RetryingStrategy_IsRefused_NothingRuns_AndTheLogSaysWhatToChange()
    {
        var db = await fixture.CreateLedgerDatabaseAsync();
        using var logs = new CapturingLoggerProvider();
        await using var app = await LedgerWebApp.StartAsync(db, retryOnFailure: true, logs);

        using var response = await app.Client.SendAsync(LedgerWebApp.Deposit("alice", "retrying-1"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(0, app.HandlerRuns);
        Assert.Equal(0, await EfCoreFixture.CountAsync(db, "SELECT count(*) FROM ledger_entries"));
        var logged = Assert.Single(logs.Lines, line => line.EventName == "StoreUnavailable").Message;
        Assert.Contains("retries on failure", logged, StringComparison.Ordinal);
        Assert.Contains("EnableRetryOnFailure", logged, StringComparison.Ordinal);
    }
}
