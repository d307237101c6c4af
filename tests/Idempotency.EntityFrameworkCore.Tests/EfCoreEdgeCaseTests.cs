using System.Text;
using Idempotency.EntityFrameworkCore.Tests.Infrastructure;
using Idempotency.EntityFrameworkCore.Tests.Transactions;

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
}
