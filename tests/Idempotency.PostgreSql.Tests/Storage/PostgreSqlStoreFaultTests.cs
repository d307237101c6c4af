using System.Security.Cryptography;
using Dapper;
using Idempotency.PostgreSql.Tests.Infrastructure;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Testing;
using Npgsql;
using Xunit.Abstractions;

namespace Idempotency.PostgreSql.Tests.Storage;

/// <summary>
/// Store faults surface as <see cref="IdempotencyStoreException"/> (the middleware's 503 path), never as a silent pass,
/// and the same store instance recovers once the database is back.
/// </summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlStoreFaultTests(PostgreSqlFixture fixture, ITestOutputHelper output)
{
    // Not a timing assertion: a guard so that a store that hangs fails the test instead of the run.
    private static readonly TimeSpan s_hangGuard = TimeSpan.FromSeconds(60);
    private static readonly byte[] s_fingerprint = SHA256.HashData("a"u8);

    [Fact]
    public async Task Operations_ThrowStoreException_WhileServerIsDown_AndTheSameStoreRecovers_AfterRestart()
    {
        await using var own = await OwnServer.StartAsync();
        var (server, store) = (own.Server, own.Store);

        // Before the crash: a completed key, and a pool warmed with several connections that the crash will break.
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => store.ClaimAsync(Claim(Guid.NewGuid().ToString(), "warm"), default).AsTask()));
        await store.ClaimAsync(Claim("completed", "owner"), default);
        await store.CompleteAsync(new IdempotencyCompleteRequest("completed", "owner", new byte[] { 7 }, TimeSpan.FromHours(1)), default);

        await server.StopAsync();
        var claimWhileDown = await Record(() => store.ClaimAsync(Claim("new", "owner-2"), default).AsTask());
        var completeWhileDown = await Record(() => store.CompleteAsync(new IdempotencyCompleteRequest("new", "owner-2", new byte[] { 1 }, TimeSpan.FromHours(1)), default).AsTask());
        var releaseWhileDown = await Record(() => store.ReleaseAsync("new", "owner-2", default).AsTask());

        await server.StartAsync();
        var claimAfterRestart = await ClaimWhenBackAsync(store, Claim("new", "owner-3"));
        var replayAfterRestart = await store.ClaimAsync(Claim("completed", "owner-4"), default);

        Assert.IsType<IdempotencyStoreException>(claimWhileDown);
        Assert.IsType<IdempotencyStoreException>(completeWhileDown);
        Assert.IsType<IdempotencyStoreException>(releaseWhileDown);
        Assert.IsAssignableFrom<NpgsqlException>(claimWhileDown!.InnerException);
        Assert.Equal(ClaimStatus.Claimed, claimAfterRestart.Status);
        Assert.Equal(ClaimStatus.Completed, replayAfterRestart.Status);
        Assert.Equal(new byte[] { 7 }, replayAfterRestart.Payload.ToArray());
    }

    [Fact]
    public async Task Complete_ThatLostTheServer_IsSentAgainUntilTheLeaseEnds_AndRecordsTheOutcome()
    {
        // The server restarts (a crash, a fail-over) while the work's outcome is on its way: the completion is sent again,
        // past its first second, until the claim's lease ends, and lands once the server is back. Refused instead, the
        // outcome would be lost, and a retry would run the work again once the lease ended.
        var logs = new FakeLogger<PostgreSqlIdempotencyStore>();
        await using var own = await OwnServer.StartAsync(logs);
        var (server, store) = (own.Server, own.Store);
        var claim = await store.ClaimAsync(Claim("held", "owner"), default);
        Assert.Equal(ClaimStatus.Claimed, claim.Status);

        await server.StopAsync();
        var completion = store.CompleteAsync(
            new IdempotencyCompleteRequest("held", "owner", new byte[] { 4, 2 }, TimeSpan.FromHours(1)) { LeaseExpiresAt = claim.LeaseExpiresAt }, default).AsTask();
        await Task.Delay(PostgreSqlIdempotencyStore.CompletionResendWindow * 2);
        await server.StartAsync();

        Assert.Equal(CompletionStatus.Completed, await completion.WaitAsync(s_hangGuard));
        var replay = await ClaimWhenBackAsync(store, Claim("held", "another-owner"));
        Assert.Equal(ClaimStatus.Completed, replay.Status);
        Assert.Equal(new byte[] { 4, 2 }, replay.Payload.ToArray());
        Assert.Single(logs.Collector.GetSnapshot(), log => log.Id.Id == 3003); // the first resend only
    }

    [Fact]
    public async Task Complete_SentAgainAfterItCommitted_AnswersCompleted_AndAnotherOutcomeStillFindsTheClaimLost()
    {
        // What a completion sent again after its connection broke meets when the first one had committed.
        var database = await fixture.CreateTableAsync(PostgreSqlFixture.IsolatedTable("complete_again"));
        var store = fixture.CreateStore(database);
        await store.ClaimAsync(Claim("k", "owner"), default);
        var request = new IdempotencyCompleteRequest("k", "owner", new byte[] { 1, 2, 3 }, TimeSpan.FromHours(1));
        Assert.Equal(CompletionStatus.Completed, await store.CompleteAsync(request, default));

        var again = await store.CompleteAsync(request, default);
        var another = await store.CompleteAsync(new IdempotencyCompleteRequest("k", "owner", new byte[] { 9 }, TimeSpan.FromHours(1)), default);

        Assert.Equal(CompletionStatus.Completed, again);
        Assert.Equal(CompletionStatus.ClaimLost, another);
        var replay = await store.ClaimAsync(Claim("k", "retry"), default);
        Assert.Equal(new byte[] { 1, 2, 3 }, replay.Payload.ToArray());
    }

    [Fact]
    public async Task Store_Recovers_AfterARestartThatNoCallSaw()
    {
        await using var own = await OwnServer.StartAsync();
        var (server, store) = (own.Server, own.Store);
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => store.ClaimAsync(Claim(Guid.NewGuid().ToString(), "warm"), default).AsTask()));

        await server.StopAsync();
        await server.StartAsync();
        var claim = await ClaimWhenBackAsync(store, Claim("after-restart", "owner"));

        Assert.Equal(ClaimStatus.Claimed, claim.Status);
    }

    [Fact]
    public async Task Claim_ThrowsStoreExceptionThatSaysItTimedOut_WhenTheDatabaseDoesNotAnswer()
    {
        var database = await fixture.CreateTableAsync(PostgreSqlFixture.IsolatedTable("timeout"));
        await using var slowDataSource = NpgsqlDataSource.Create(fixture.Server.ConnectionString(extra: "Command Timeout=1"));
        var store = new PostgreSqlIdempotencyStore(
            new PostgreSqlIdempotencyDatabase(slowDataSource, ownsDataSource: false, database.Options), NullLogger<PostgreSqlIdempotencyStore>.Instance);
        await using var locker = await fixture.DataSource.OpenConnectionAsync();
        await using var transaction = await locker.BeginTransactionAsync();
        await locker.ExecuteAsync($"LOCK TABLE {database.Sql.QualifiedTableName} IN ACCESS EXCLUSIVE MODE", transaction: transaction);

        var exception = await Record(() => store.ClaimAsync(Claim("k", "owner"), default).AsTask());

        var storeException = Assert.IsType<IdempotencyStoreException>(exception);
        Assert.Contains("did not answer in time", storeException.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Claim_ThrowsOperationCanceled_NotAStoreFault_WhenTheCallerCancels()
    {
        var database = await fixture.CreateTableAsync(PostgreSqlFixture.IsolatedTable("cancel"));
        var store = fixture.CreateStore(database);
        await using var locker = await fixture.DataSource.OpenConnectionAsync();
        await using var transaction = await locker.BeginTransactionAsync();
        await locker.ExecuteAsync($"LOCK TABLE {database.Sql.QualifiedTableName} IN ACCESS EXCLUSIVE MODE", transaction: transaction);
        using var cancellation = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));

        var exception = await Record(() => store.ClaimAsync(Claim("k", "owner"), cancellation.Token).AsTask());

        Assert.IsAssignableFrom<OperationCanceledException>(exception);
    }

    private static IdempotencyClaimRequest Claim(string key, string owner) => new(key, s_fingerprint, owner, TimeSpan.FromMinutes(1));

    private static async Task<Exception?> Record(Func<Task> operation) =>
        await Record(operation().WaitAsync(s_hangGuard));

    private static async Task<Exception?> Record(Task task)
    {
        try
        {
            await task;
            return null;
        }
        catch (Exception ex)
        {
            return ex;
        }
    }

    // Connections that the crash broke while idle in the pool fail once each, as store faults, then the pool heals.
    private async Task<IdempotencyClaimResult> ClaimWhenBackAsync(PostgreSqlIdempotencyStore store, IdempotencyClaimRequest request)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await store.ClaimAsync(request, default).AsTask().WaitAsync(s_hangGuard);
            }
            catch (IdempotencyStoreException ex) when (attempt < 20)
            {
                output.WriteLine($"attempt {attempt}: {ex.Message}");
            }
        }
    }

    /// <summary>
    /// A server of the test's own (stopping the shared one would disturb the other tests), with the store's table and a
    /// store whose connection string gives up within seconds.
    /// </summary>
    private sealed class OwnServer(PostgreSqlServer server, NpgsqlDataSource dataSource, PostgreSqlIdempotencyStore store) : IAsyncDisposable
    {
        public PostgreSqlServer Server => server;

        public PostgreSqlIdempotencyStore Store => store;

        public static async Task<OwnServer> StartAsync(ILogger<PostgreSqlIdempotencyStore>? logger = null)
        {
            var server = await PostgreSqlServer.CreateAsync();
            var dataSource = NpgsqlDataSource.Create(server.ConnectionString(extra: "Timeout=3;Command Timeout=5"));
            try
            {
                var database = new PostgreSqlIdempotencyDatabase(dataSource, ownsDataSource: false, new PostgreSqlIdempotencyStoreOptions());
                await new PostgreSqlSchemaInitializer(database, NullLogger<PostgreSqlSchemaInitializer>.Instance).CreateSchemaAsync(default);
                return new OwnServer(server, dataSource, new PostgreSqlIdempotencyStore(database, logger ?? NullLogger<PostgreSqlIdempotencyStore>.Instance));
            }
            catch
            {
                await dataSource.DisposeAsync();
                await server.DisposeAsync();
                throw;
            }
        }

        public async ValueTask DisposeAsync()
        {
            await dataSource.DisposeAsync();
            await server.DisposeAsync();
        }
    }
}
