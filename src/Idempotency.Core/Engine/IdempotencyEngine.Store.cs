using System.Diagnostics;

namespace Idempotency;

public sealed partial class IdempotencyEngine
{
    private async ValueTask<IdempotencyClaimResult> ClaimAsync(
        IdempotencyExecutionRequest request, ReadOnlyMemory<byte> fingerprint, string ownerToken, CancellationToken cancellationToken)
    {
        var claimRequest = new IdempotencyClaimRequest(request.StorageKey, fingerprint, ownerToken, request.LeaseDuration, request.Scope);
        var claim = await CallStoreAsync(request.Store, "claim", static (store, r, ct) => store.ClaimAsync(r, ct), claimRequest, cancellationToken).ConfigureAwait(false);
        if (claim.Status != ClaimStatus.InFlight || request.InFlightWait <= TimeSpan.Zero)
        {
            return claim;
        }

        // Wait for the original with a backed-off poll: store-agnostic, and bounded by the request's wait.
        var deadline = _timeProvider.GetUtcNow() + request.InFlightWait;
        var poll = s_firstWaitPoll;
        while (claim.Status == ClaimStatus.InFlight)
        {
            var remaining = deadline - _timeProvider.GetUtcNow();
            if (remaining <= TimeSpan.Zero)
            {
                break;
            }

            await Task.Delay(Min(poll, remaining), _timeProvider, cancellationToken).ConfigureAwait(false);
            poll = Min(poll * 2, s_maxWaitPoll);
            claim = await CallStoreAsync(request.Store, "claim", static (store, r, ct) => store.ClaimAsync(r, ct), claimRequest, cancellationToken).ConfigureAwait(false);
        }

        return claim;
    }

    // Only after the current fingerprint did not match: records written by an earlier release carry that release's.
    private async ValueTask<IdempotencyClaimResult> ClaimWithPreviousFingerprintAsync(
        IdempotencyExecutionRequest request, Func<CancellationToken, ValueTask<byte[]?>> previousFingerprint, string ownerToken, CancellationToken cancellationToken)
    {
        var fingerprint = await previousFingerprint(cancellationToken).ConfigureAwait(false);
        if (fingerprint is null)
        {
            return IdempotencyClaimResult.FingerprintMismatch();
        }

        var claim = await ClaimAsync(request, fingerprint, ownerToken, cancellationToken).ConfigureAwait(false);
        if (claim.Status != ClaimStatus.FingerprintMismatch)
        {
            LogMatchedByPreviousFingerprint(_logger, request.Key, claim.Status);
        }

        return claim;
    }

    private async ValueTask<TResult> CallStoreAsync<TArgument, TResult>(
        IIdempotencyStore store,
        string operation,
        Func<IIdempotencyStore, TArgument, CancellationToken, ValueTask<TResult>> call,
        TArgument argument,
        CancellationToken cancellationToken)
    {
        using var activity = s_activitySource.StartActivity("idempotency.store." + operation, ActivityKind.Client);
        var start = Stopwatch.GetTimestamp();
        var succeeded = false;
        try
        {
            var result = await call(store, argument, cancellationToken).ConfigureAwait(false);
            succeeded = true;
            return result;
        }
        finally
        {
            _metrics.StoreOperation(operation, store.Name, succeeded, start, Stopwatch.GetTimestamp());
            if (!succeeded)
            {
                activity?.SetStatus(ActivityStatusCode.Error);
            }
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
