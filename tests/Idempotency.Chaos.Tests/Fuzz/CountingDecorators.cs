using BankLedger.Ledger;

namespace Idempotency.Chaos.Tests.Fuzz;

/// <summary>What the store and the ledger were asked to do, counted, so each fuzz request's traces can be checked.</summary>
internal sealed class FuzzCounters
{
    private long _claimCalls;
    private long _claimed;
    private long _completed;
    private long _released;
    private long _keyedEffects;
    private long _conditionalEffects;

    /// <summary>Gets the number of claim calls of any outcome: even a look-up counts.</summary>
    public long ClaimCalls => Interlocked.Read(ref _claimCalls);

    /// <summary>Gets the number of new records (claims that took the key).</summary>
    public long Claimed => Interlocked.Read(ref _claimed);

    /// <summary>Gets the number of records completed: responses stored for replay.</summary>
    public long Completed => Interlocked.Read(ref _completed);

    public long Released => Interlocked.Read(ref _released);

    /// <summary>Gets the number of changes made by the endpoints that require a key (accounts, deposits, withdrawals, transfers).</summary>
    public long KeyedEffects => Interlocked.Read(ref _keyedEffects);

    /// <summary>Gets the number of entries appended by the conditional endpoint (If-Match; a key is optional there).</summary>
    public long ConditionalEffects => Interlocked.Read(ref _conditionalEffects);

    public FuzzSnapshot Snapshot() => new(ClaimCalls, Claimed, Completed, Released, KeyedEffects, ConditionalEffects);

    public void ClaimCalled(ClaimStatus status)
    {
        Interlocked.Increment(ref _claimCalls);
        if (status == ClaimStatus.Claimed)
        {
            Interlocked.Increment(ref _claimed);
        }
    }

    public void CompleteCalled() => Interlocked.Increment(ref _completed);

    public void ReleaseCalled() => Interlocked.Increment(ref _released);

    public void KeyedEffect() => Interlocked.Increment(ref _keyedEffects);

    public void ConditionalEffect() => Interlocked.Increment(ref _conditionalEffects);
}

internal readonly record struct FuzzSnapshot(long ClaimCalls, long Claimed, long Completed, long Released, long KeyedEffects, long ConditionalEffects)
{
    public static FuzzSnapshot operator -(FuzzSnapshot a, FuzzSnapshot b) => new(
        a.ClaimCalls - b.ClaimCalls, a.Claimed - b.Claimed, a.Completed - b.Completed, a.Released - b.Released,
        a.KeyedEffects - b.KeyedEffects, a.ConditionalEffects - b.ConditionalEffects);

    public long Effects => KeyedEffects + ConditionalEffects;

    public override string ToString() =>
        $"claim calls {ClaimCalls}, claimed {Claimed}, completed {Completed}, released {Released}, keyed effects {KeyedEffects}, conditional effects {ConditionalEffects}";
}

/// <summary>The application's idempotency store, counted.</summary>
internal sealed class CountingStore(IIdempotencyStore inner, FuzzCounters counters) : IIdempotencyStore
{
    public async ValueTask<IdempotencyClaimResult> ClaimAsync(IdempotencyClaimRequest request, CancellationToken cancellationToken)
    {
        var result = await inner.ClaimAsync(request, cancellationToken);
        counters.ClaimCalled(result.Status);
        return result;
    }

    public async ValueTask<CompletionStatus> CompleteAsync(IdempotencyCompleteRequest request, CancellationToken cancellationToken)
    {
        var status = await inner.CompleteAsync(request, cancellationToken);
        counters.CompleteCalled();
        return status;
    }

    public async ValueTask<bool> ReleaseAsync(string key, string ownerToken, CancellationToken cancellationToken)
    {
        var released = await inner.ReleaseAsync(key, ownerToken, cancellationToken);
        counters.ReleaseCalled();
        return released;
    }
}

/// <summary>The sample's ledger, with every change it makes counted.</summary>
internal sealed class CountingLedger(ILedger inner, FuzzCounters counters) : ILedger
{
    public async Task<AccountView> OpenAccountAsync(string userId, string owner, CancellationToken cancellationToken)
    {
        var account = await inner.OpenAccountAsync(userId, owner, cancellationToken);
        counters.KeyedEffect();
        return account;
    }

    public Task<AccountView?> GetAccountAsync(string userId, long accountId, CancellationToken cancellationToken) =>
        inner.GetAccountAsync(userId, accountId, cancellationToken);

    public Task<IReadOnlyList<EntryView>?> GetEntriesAsync(string userId, long accountId, CancellationToken cancellationToken) =>
        inner.GetEntriesAsync(userId, accountId, cancellationToken);

    public async Task<LedgerResult<PostingView>> PostAsync(string userId, long accountId, long amount, CancellationToken cancellationToken)
    {
        var result = await inner.PostAsync(userId, accountId, amount, cancellationToken);
        if (result.Error == LedgerError.None)
        {
            counters.KeyedEffect();
        }

        return result;
    }

    public async Task<EntryAppendResult> AppendIfAsync(string userId, long accountId, Func<long, bool> lastEntryMatches, long amount, string? memo, CancellationToken cancellationToken)
    {
        var result = await inner.AppendIfAsync(userId, accountId, lastEntryMatches, amount, memo, cancellationToken);
        if (result.Posting is not null)
        {
            counters.ConditionalEffect();
        }

        return result;
    }

    public async Task<LedgerResult<TransferView>> TransferAsync(string userId, long from, long to, long amount, CancellationToken cancellationToken)
    {
        var result = await inner.TransferAsync(userId, from, to, amount, cancellationToken);
        if (result.Error == LedgerError.None)
        {
            counters.KeyedEffect();
        }

        return result;
    }
}
