using System.Text;
using Idempotency.EntityFrameworkCore.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;

namespace Idempotency.EntityFrameworkCore.Tests.Transactions;

[Collection(EfCoreCollection.Name)]
public sealed class EntityFrameworkCoreIdempotencyUnitOfWorkTests(EfCoreFixture fixture)
{
    private static readonly byte[] Fingerprint = Encoding.ASCII.GetBytes("fingerprint-of-the-request-32byt");
    private static readonly byte[] Outcome = [1, 2, 3, 4, 5];

    internal static EntityFrameworkCoreIdempotencyUnitOfWorkFactory Factory() =>
        new(typeof(LedgerDbContext), TimeProvider.System, NullLogger<EntityFrameworkCoreIdempotencyUnitOfWork>.Instance);

    private static IdempotencyClaimRequest Claim(string key, string owner, byte[]? fingerprint = null) =>
        new(key, fingerprint ?? Fingerprint, owner, TimeSpan.FromSeconds(30));

    [Fact]
    public async Task Complete_CommitsEntityChangesRecordAndOutcomeTogether()
    {
        var db = await fixture.CreateLedgerDatabaseAsync();
        await using (var context = EfCoreFixture.CreateContext(db))
        {
            await using var unitOfWork = await Factory().BeginAsync(context);
            Assert.Equal(ClaimStatus.Claimed, (await unitOfWork.ClaimAsync(Claim("k1", "owner-1"), default)).Status);
            context.Entries.Add(new LedgerEntry { Account = "alice", Amount = 100 });
            Assert.Equal(CompletionStatus.Completed, await unitOfWork.CompleteAsync(new IdempotencyCompleteRequest("k1", "owner-1", Outcome, TimeSpan.FromHours(1)), default));
        }

        Assert.Equal(1, await EfCoreFixture.CountAsync(db, "SELECT count(*) FROM ledger_entries"));
        Assert.Equal(1, await EfCoreFixture.CountAsync(db, "SELECT count(*) FROM idempotency_records WHERE key = 'k1' AND state = 2 AND payload = '\\x0102030405'"));

        await using var second = EfCoreFixture.CreateContext(db);
        await using var replay = await Factory().BeginAsync(second);
        var claim = await replay.ClaimAsync(Claim("k1", "owner-2"), default);
        Assert.Equal(ClaimStatus.Completed, claim.Status);
        Assert.Equal(Outcome, claim.Payload.ToArray());
    }

    [Fact]
    public async Task Release_RollsBackSavedEntityChangesAndTheKey()
    {
        var db = await fixture.CreateLedgerDatabaseAsync();
        await using (var context = EfCoreFixture.CreateContext(db))
        {
            await using var unitOfWork = await Factory().BeginAsync(context);
            await unitOfWork.ClaimAsync(Claim("k1", "owner-1"), default);
            context.Entries.Add(new LedgerEntry { Account = "alice", Amount = 100 });
            await context.SaveChangesAsync();
            Assert.True(await unitOfWork.ReleaseAsync("k1", "owner-1", default));
            Assert.Empty(context.ChangeTracker.Entries());
        }

        Assert.Equal(0, await EfCoreFixture.CountAsync(db, "SELECT count(*) FROM ledger_entries"));
        Assert.Equal(0, await EfCoreFixture.CountAsync(db, "SELECT count(*) FROM idempotency_records"));
        await using var second = EfCoreFixture.CreateContext(db);
        await using var retry = await Factory().BeginAsync(second);
        Assert.Equal(ClaimStatus.Claimed, (await retry.ClaimAsync(Claim("k1", "owner-2"), default)).Status);
    }

    [Fact]
    public async Task Dispose_WithoutCompletion_CommitsNothing()
    {
        var db = await fixture.CreateLedgerDatabaseAsync();
        await using (var context = EfCoreFixture.CreateContext(db))
        {
            await using var unitOfWork = await Factory().BeginAsync(context);
            await unitOfWork.ClaimAsync(Claim("k1", "owner-1"), default);
            context.Entries.Add(new LedgerEntry { Account = "alice", Amount = 100 });
            await context.SaveChangesAsync();
        }

        Assert.Equal(0, await EfCoreFixture.CountAsync(db, "SELECT count(*) FROM ledger_entries"));
        Assert.Equal(0, await EfCoreFixture.CountAsync(db, "SELECT count(*) FROM idempotency_records"));
    }

    [Fact]
    public async Task Claim_AnswersInFlight_WhileAnotherUnitHoldsTheKey_AndMismatch_ForAnotherRequest()
    {
        var db = await fixture.CreateLedgerDatabaseAsync();
        await using var first = EfCoreFixture.CreateContext(db);
        await using var second = EfCoreFixture.CreateContext(db);
        await using var original = await Factory().BeginAsync(first);
        Assert.Equal(ClaimStatus.Claimed, (await original.ClaimAsync(Claim("k1", "owner-1"), default)).Status);

        await using (var duplicate = await Factory().BeginAsync(second))
        {
            Assert.Equal(ClaimStatus.InFlight, (await duplicate.ClaimAsync(Claim("k1", "owner-2"), default)).Status);
        }

        await original.CompleteAsync(new IdempotencyCompleteRequest("k1", "owner-1", Outcome, TimeSpan.FromHours(1)), default);
        await using var other = await Factory().BeginAsync(second);
        Assert.Equal(ClaimStatus.FingerprintMismatch, (await other.ClaimAsync(Claim("k1", "owner-3", new byte[32]), default)).Status);
    }

    [Fact]
    public async Task Complete_ReturnsClaimLost_ForAnotherOwner_AndCommitsNothing()
    {
        var db = await fixture.CreateLedgerDatabaseAsync();
        await using (var context = EfCoreFixture.CreateContext(db))
        {
            await using var unitOfWork = await Factory().BeginAsync(context);
            await unitOfWork.ClaimAsync(Claim("k1", "owner-1"), default);
            context.Entries.Add(new LedgerEntry { Account = "alice", Amount = 100 });
            Assert.Equal(CompletionStatus.ClaimLost, await unitOfWork.CompleteAsync(new IdempotencyCompleteRequest("k1", "someone-else", Outcome, TimeSpan.FromHours(1)), default));
        }

        Assert.Equal(0, await EfCoreFixture.CountAsync(db, "SELECT count(*) FROM ledger_entries"));
    }

    [Fact]
    public async Task FailedCommit_CommitsNothing_AndARetryRunsAgain()
    {
        var db = await fixture.CreateLedgerDatabaseAsync();
        var terminate = new TerminateOnCommitInterceptor(db);
        await using (var context = EfCoreFixture.CreateContext(db, interceptors: terminate))
        {
            await using var unitOfWork = await Factory().BeginAsync(context);
            await unitOfWork.ClaimAsync(Claim("k1", "owner-1"), default);
            context.Entries.Add(new LedgerEntry { Account = "alice", Amount = 100 });
            await Assert.ThrowsAsync<IdempotencyStoreException>(async () =>
                await unitOfWork.CompleteAsync(new IdempotencyCompleteRequest("k1", "owner-1", Outcome, TimeSpan.FromHours(1)), default));
        }

        Assert.Equal(1, terminate.Terminated);
        Assert.Equal(0, await EfCoreFixture.CountAsync(db, "SELECT count(*) FROM ledger_entries"));
        Assert.Equal(0, await EfCoreFixture.CountAsync(db, "SELECT count(*) FROM idempotency_records"));

        await using var retryContext = EfCoreFixture.CreateContext(db);
        await using var retry = await Factory().BeginAsync(retryContext);
        Assert.Equal(ClaimStatus.Claimed, (await retry.ClaimAsync(Claim("k1", "owner-2"), default)).Status);
        retryContext.Entries.Add(new LedgerEntry { Account = "alice", Amount = 100 });
        Assert.Equal(CompletionStatus.Completed, await retry.CompleteAsync(new IdempotencyCompleteRequest("k1", "owner-2", Outcome, TimeSpan.FromHours(1)), default));
        Assert.Equal(1, await EfCoreFixture.CountAsync(db, "SELECT count(*) FROM ledger_entries"));
    }

    [Fact]
    public async Task Begin_Throws_WhenTheContextRetriesOnFailure_OutsideItsExecutionStrategy()
    {
        var db = await fixture.CreateLedgerDatabaseAsync();
        await using var context = EfCoreFixture.CreateContext(db, retryOnFailure: true);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(async () => await Factory().BeginAsync(context));

        Assert.Contains("retries on failure", error.Message, StringComparison.Ordinal);
        Assert.Contains("CreateExecutionStrategy().ExecuteAsync", error.Message, StringComparison.Ordinal);
        Assert.Null(context.Database.CurrentTransaction);
    }

    [Fact]
    public async Task Begin_Succeeds_InsideTheRetryingExecutionStrategy()
    {
        var db = await fixture.CreateLedgerDatabaseAsync();
        await using var context = EfCoreFixture.CreateContext(db, retryOnFailure: true);

        var status = await context.Database.CreateExecutionStrategy().ExecuteAsync(async () =>
        {
            await using var unitOfWork = await Factory().BeginAsync(context);
            return (await unitOfWork.ClaimAsync(Claim("k1", "owner-1"), default)).Status;
        });

        Assert.Equal(ClaimStatus.Claimed, status);
    }

    [Fact]
    public async Task Begin_Throws_WhenTheModelLacksTheRecordsTable()
    {
        var db = await fixture.CreateLedgerDatabaseAsync();
        var options = new DbContextOptionsBuilder<ContextWithoutRecords>().UseNpgsql(db).Options;
        await using var context = new ContextWithoutRecords(options);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(async () => await Factory().BeginAsync(context));

        Assert.Contains("modelBuilder.AddIdempotencyRecords()", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Begin_Throws_WhenTheContextHasATransactionAlready()
    {
        var db = await fixture.CreateLedgerDatabaseAsync();
        await using var context = EfCoreFixture.CreateContext(db);
        await using var transaction = await context.Database.BeginTransactionAsync();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(async () => await Factory().BeginAsync(context));

        Assert.Contains("already has a transaction", error.Message, StringComparison.Ordinal);
    }
}
