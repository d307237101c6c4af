using BankLedger.Ledger;
using Idempotency;
using Microsoft.Extensions.DependencyInjection;

namespace BankLedger.Tests.Grpc;

/// <summary>The in-memory ledger, whose postings can be held at a gate while a test sends a duplicate.</summary>
internal sealed class GatedLedger(ILedger inner) : ILedger
{
    private volatile TaskCompletionSource _gate = Opened();

    public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Close() => _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Open() => _gate.TrySetResult();

    public async Task<LedgerResult<PostingView>> PostAsync(string userId, long accountId, long amount, CancellationToken cancellationToken)
    {
        Entered.TrySetResult();
        await _gate.Task.WaitAsync(cancellationToken);
        return await inner.PostAsync(userId, accountId, amount, cancellationToken);
    }

    public Task<AccountView> OpenAccountAsync(string userId, string owner, CancellationToken cancellationToken) => inner.OpenAccountAsync(userId, owner, cancellationToken);

    public Task<AccountView?> GetAccountAsync(string userId, long accountId, CancellationToken cancellationToken) => inner.GetAccountAsync(userId, accountId, cancellationToken);

    public Task<IReadOnlyList<EntryView>?> GetEntriesAsync(string userId, long accountId, CancellationToken cancellationToken) => inner.GetEntriesAsync(userId, accountId, cancellationToken);

    public Task<EntryAppendResult> AppendIfAsync(string userId, long accountId, Func<long, bool> lastEntryMatches, long amount, string? memo, CancellationToken cancellationToken) =>
        inner.AppendIfAsync(userId, accountId, lastEntryMatches, amount, memo, cancellationToken);

    public Task<LedgerResult<TransferView>> TransferAsync(string userId, long from, long to, long amount, CancellationToken cancellationToken) =>
        inner.TransferAsync(userId, from, to, amount, cancellationToken);

    private static TaskCompletionSource Opened()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        gate.SetResult();
        return gate;
    }
}

/// <summary>The sample's idempotency store, failing every call while <see cref="Down"/> is set, as an unreachable server would.</summary>
internal sealed class SwitchableStore : IIdempotencyStore, IDisposable
{
    private IIdempotencyStore _inner = null!;

    public volatile bool Down;

    /// <summary>Puts this store in front of the one the sample registered.</summary>
    public void Decorate(IServiceCollection services)
    {
        var original = services.Last(descriptor => descriptor.ServiceType == typeof(IIdempotencyStore));
        services.AddSingleton<IIdempotencyStore>(provider =>
        {
            _inner = (IIdempotencyStore)ActivatorUtilities.CreateInstance(provider, original.ImplementationType!);
            return this;
        });
    }

    public void Dispose() => (_inner as IDisposable)?.Dispose();

    public ValueTask<IdempotencyClaimResult> ClaimAsync(IdempotencyClaimRequest request, CancellationToken cancellationToken) =>
        Down ? throw new IdempotencyStoreException("The store is down (test).") : _inner.ClaimAsync(request, cancellationToken);

    public ValueTask<CompletionStatus> CompleteAsync(IdempotencyCompleteRequest request, CancellationToken cancellationToken) =>
        Down ? throw new IdempotencyStoreException("The store is down (test).") : _inner.CompleteAsync(request, cancellationToken);

    public ValueTask<bool> ReleaseAsync(string key, string ownerToken, CancellationToken cancellationToken) =>
        Down ? throw new IdempotencyStoreException("The store is down (test).") : _inner.ReleaseAsync(key, ownerToken, cancellationToken);
}
