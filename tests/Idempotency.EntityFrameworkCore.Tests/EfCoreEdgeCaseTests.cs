using System.Net;
using System.Text;
using System.Text.Json;
using Idempotency.EntityFrameworkCore.Tests.Execution;
using Idempotency.EntityFrameworkCore.Tests.Infrastructure;
using Idempotency.EntityFrameworkCore.Tests.Transactions;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Idempotency.EntityFrameworkCore.Tests;

/// <summary>
/// A handler that ends the unit of work's transaction itself (<c>Database.CommitTransactionAsync()</c> or
/// <c>RollbackTransactionAsync()</c>), against the docs: whatever the unit of work then answers, an entity change must
/// never be committed without the key's record, or a retry of the "failed" request runs the operation again.
/// </summary>
[Collection(EfCoreCollection.Name)]
public sealed class EfCoreEdgeCaseTests(EfCoreFixture fixture)
{
    private static readonly byte[] Fingerprint = Encoding.ASCII.GetBytes("fingerprint-of-the-request-32byt");
    private static readonly byte[] Outcome = [1, 2, 3, 4, 5];

    private static IdempotencyClaimRequest Claim(string key, string owner) => new(key, Fingerprint, owner, TimeSpan.FromSeconds(30));

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AHandlerThatEndsTheTransactionItself_NeverLeavesEntityChangesWithoutTheRecord(bool commit)
    {
        var db = await fixture.CreateLedgerDatabaseAsync();
        Exception? fault = null;
        CompletionStatus? completion = null;
        await using (var context = EfCoreFixture.CreateContext(db))
        {
            await using var unitOfWork = await EntityFrameworkCoreIdempotencyUnitOfWorkTests.Factory().BeginAsync(context);
            Assert.Equal(ClaimStatus.Claimed, (await unitOfWork.ClaimAsync(Claim("k1", "owner-1"), default)).Status);
            context.Entries.Add(new LedgerEntry { Account = "alice", Amount = 100 });
            await context.SaveChangesAsync();
            if (commit)
            {
                await context.Database.CommitTransactionAsync();
            }
            else
            {
                await context.Database.RollbackTransactionAsync();
            }

            context.Entries.Add(new LedgerEntry { Account = "bob", Amount = 100 });
            try
            {
                completion = await unitOfWork.CompleteAsync(new IdempotencyCompleteRequest("k1", "owner-1", Outcome, TimeSpan.FromHours(1)), default);
            }
            catch (Exception ex)
            {
                fault = ex;
            }
        }

        var entries = await EfCoreFixture.CountAsync(db, "SELECT count(*) FROM ledger_entries");
        var records = await EfCoreFixture.CountAsync(db, "SELECT count(*) FROM idempotency_records WHERE key = 'k1'");
        Assert.True(entries == 0 || records == 1, $"{entries} entries committed, {records} records; completion {completion}, fault {fault?.GetType().Name}: {fault?.Message}");

        // What was committed is replayed to a retry, never run again.
        await using var retryContext = EfCoreFixture.CreateContext(db);
        await using var retry = await EntityFrameworkCoreIdempotencyUnitOfWorkTests.Factory().BeginAsync(retryContext);
        Assert.Equal(entries == 0 ? ClaimStatus.Claimed : ClaimStatus.Completed, (await retry.ClaimAsync(Claim("k1", "owner-2"), default)).Status);
    }

    /// <summary>
    /// A handler that ends the transaction itself and then fails (throws, or answers a status that is not stored): what it
    /// committed stays committed, so the key must not be released for a retry to run the handler again over it.
    /// </summary>
    [Theory]
    [InlineData("commit-then-throw", HttpStatusCode.InternalServerError)]
    [InlineData("commit-then-503", HttpStatusCode.ServiceUnavailable)]
    public async Task AHandlerThatCommitsItselfAndThenFails_IsNotRunAgainByTheRetry(string fail, HttpStatusCode firstStatus)
    {
        var db = await fixture.CreateLedgerDatabaseAsync();
        await using var app = await LedgerWebApp.StartAsync(db);

        using var first = await app.Client.SendAsync(LedgerWebApp.Deposit("alice", "k1", fail));
        using var retry = await app.Client.SendAsync(LedgerWebApp.Deposit("alice", "k1"));

        Assert.Equal(firstStatus, first.StatusCode);
        Assert.Equal(1, await EfCoreFixture.CountAsync(db, "SELECT count(*) FROM ledger_entries"));
        Assert.Equal(1, app.HandlerRuns);
        Assert.Equal(HttpStatusCode.InternalServerError, retry.StatusCode);
        Assert.Equal("application/problem+json", retry.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await retry.Content.ReadAsStringAsync());
        Assert.EndsWith("outcome-unknown", problem.RootElement.GetProperty("type").GetString(), StringComparison.Ordinal);
    }

    /// <summary>
    /// The same through the executor: a message handler that commits the transaction itself, leaves another change pending
    /// and throws. The committed change stays (once), the pending one is discarded with the failure, and the redelivery is
    /// told the outcome is unknown instead of applying the message again.
    /// </summary>
    [Fact]
    public async Task AMessageHandlerThatCommitsItselfAndThenThrows_IsNotAppliedAgainByTheRedelivery()
    {
        var db = await fixture.CreateLedgerDatabaseAsync();
        await using var services = ExecutorServices(db);
        var runs = 0;
        Func<LedgerDbContext, CancellationToken, ValueTask<long>> handler = async (context, ct) =>
        {
            Interlocked.Increment(ref runs);
            context.Entries.Add(new LedgerEntry { Account = "alice", Amount = 100 });
            await context.SaveChangesAsync(ct);
            await context.Database.CommitTransactionAsync(ct);
            context.Entries.Add(new LedgerEntry { Account = "bob", Amount = 100 });
            throw new InvalidOperationException("The handler failed after committing its entry.");
        };

        await Assert.ThrowsAsync<InvalidOperationException>(() => DeliverAsync(services, handler));
        await Assert.ThrowsAsync<IdempotentOperationOutcomeUnknownException>(() => DeliverAsync(services, handler));

        Assert.Equal(1, runs);
        Assert.Equal(1, await EfCoreFixture.CountAsync(db, "SELECT count(*) FROM ledger_entries WHERE account = 'alice'"));
        Assert.Equal(0, await EfCoreFixture.CountAsync(db, "SELECT count(*) FROM ledger_entries WHERE account = 'bob'"));
    }

    /// <summary>
    /// A handler that commits the transaction itself and returns, leaving a change that the completion cannot save: the
    /// completion fails (the caller is told nothing of it was kept), but what the handler committed stays, so the
    /// redelivery must not apply the message again.
    /// </summary>
    [Fact]
    public async Task AHandlerThatCommitsItself_WhoseCompletionThenFails_IsNotAppliedAgainByTheRedelivery()
    {
        var db = await fixture.CreateLedgerDatabaseAsync();
        await using var services = ExecutorServices(db);
        var runs = 0;
        Func<LedgerDbContext, CancellationToken, ValueTask<long>> handler = async (context, ct) =>
        {
            Interlocked.Increment(ref runs);
            context.Entries.Add(new LedgerEntry { Account = "alice", Amount = 100 });
            await context.SaveChangesAsync(ct);
            await context.Database.CommitTransactionAsync(ct);
            context.Entries.Add(new LedgerEntry { Account = null!, Amount = 100 }); // NOT NULL: the completion's SaveChanges fails
            return 1L;
        };

        await Assert.ThrowsAsync<IdempotencyStoreException>(() => DeliverAsync(services, handler));
        await Assert.ThrowsAsync<IdempotentOperationOutcomeUnknownException>(() => DeliverAsync(services, handler));

        Assert.Equal(1, runs);
        Assert.Equal(1, await EfCoreFixture.CountAsync(db, "SELECT count(*) FROM ledger_entries"));
    }

    private static ServiceProvider ExecutorServices(string db) =>
        new ServiceCollection()
            .AddLogging()
            .AddDbContext<LedgerDbContext>(options => EfCoreFixture.Configure(options, db, retryOnFailure: false))
            .AddIdempotentExecutor()
            .UseEntityFrameworkCore<LedgerDbContext>()
            .Services
            .BuildServiceProvider();

    private static async Task<IdempotentResult<long>> DeliverAsync(ServiceProvider services, Func<LedgerDbContext, CancellationToken, ValueTask<long>> handler)
    {
        await using var scope = services.CreateAsyncScope();
        var executor = scope.ServiceProvider.GetRequiredService<EntityFrameworkCoreIdempotentExecutor<LedgerDbContext>>();
        return await executor.ExecuteAsync(new IdempotentOperation("msg-1", Encoding.UTF8.GetBytes("{}")) { Name = "deposit" }, handler, ExecutorJson.Default.Int64);
    }

    /// <summary>
    /// A handler that writes through a second context (another DbContext type, or one from IDbContextFactory) commits
    /// those writes on its own connection, outside the unit. docs/efcore.md says how to bring it in: the unit's
    /// connection and transaction. Then its writes commit with the record, or roll back with the unit.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ASecondContextOnTheUnitsConnectionAndTransaction_CommitsOrRollsBackWithTheUnit(bool complete)
    {
        var db = await fixture.CreateLedgerDatabaseAsync();
        await using (var context = EfCoreFixture.CreateContext(db))
        {
            await using var unitOfWork = await EntityFrameworkCoreIdempotencyUnitOfWorkTests.Factory().BeginAsync(context);
            Assert.Equal(ClaimStatus.Claimed, (await unitOfWork.ClaimAsync(Claim("k1", "owner-1"), default)).Status);

            var options = new DbContextOptionsBuilder<LedgerDbContext>().UseNpgsql(context.Database.GetDbConnection()).Options;
            await using (var second = new LedgerDbContext(options))
            {
                await second.Database.UseTransactionAsync(context.Database.CurrentTransaction!.GetDbTransaction());
                second.Entries.Add(new LedgerEntry { Account = "alice", Amount = 100 });
                await second.SaveChangesAsync();
            }

            if (complete)
            {
                Assert.Equal(CompletionStatus.Completed, await unitOfWork.CompleteAsync(new IdempotencyCompleteRequest("k1", "owner-1", Outcome, TimeSpan.FromHours(1)), default));
            }
            else
            {
                Assert.True(await unitOfWork.ReleaseAsync("k1", "owner-1", default));
            }
        }

        Assert.Equal(complete ? 1 : 0, await EfCoreFixture.CountAsync(db, "SELECT count(*) FROM ledger_entries"));
        Assert.Equal(complete ? 1 : 0, await EfCoreFixture.CountAsync(db, "SELECT count(*) FROM idempotency_records WHERE key = 'k1'"));
    }
}
