using System.Diagnostics;

namespace Idempotency;

public sealed partial class IdempotencyEngine
{
    private async ValueTask<IdempotencyClaimResult> ClaimAsync(
        IdempotencyExecutionRequest request, ReadOnlyMemory<byte> fingerprint, string ownerToken, CancellationToken cancellationToken)
    {
        var claimRequest = new IdempotencyClaimRequest(request.StorageKey, fingerprint, ownerToken, request.LeaseDuration, request.Scope);
        var claim = await CallStoreAsync(request.Store, StoreOperation.Claim, static (store, r, ct) => store.ClaimAsync(r, ct), claimRequest, cancellationToken).ConfigureAwait(false);
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
            claim = await CallStoreAsync(request.Store, StoreOperation.Claim, static (store, r, ct) => store.ClaimAsync(r, ct), claimRequest, cancellationToken).ConfigureAwait(false);
        }

        return claim;
    }

    // Only after the current fingerprint did not match: records written by an earlier release carry that release's.
    private async ValueTask<IdempotencyClaimResult> ClaimWithPreviousFingerprintAsync<TOutcome>(
        IdempotencyExecutionRequest request, IIdempotentWork<TOutcome> work, string ownerToken, CancellationToken cancellationToken)
    {
        var fingerprint = await work.ComputePreviousFingerprintAsync(cancellationToken).ConfigureAwait(false);
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

    // Times the call for idempotency.store.duration and wraps it in an activity. A store that answers synchronously (the
    // in-memory store always does) is answered without an async state machine; the clock is read only while the
    // histogram has a listener. Either way the caller carries on in the execution context it called in, as after an
    // async method: its own activity current again (even one already stopped, which Activity.Current's setter refuses),
    // and nothing the store's synchronous part set in an AsyncLocal.
    private ValueTask<TResult> CallStoreAsync<TArgument, TResult>(
        IIdempotencyStore store,
        StoreOperation operation,
        Func<IIdempotencyStore, TArgument, CancellationToken, ValueTask<TResult>> call,
        TArgument argument,
        CancellationToken cancellationToken)
    {
        var callerContext = ExecutionContext.Capture();
        var activity = s_activitySource.StartActivity(operation.ActivityName, ActivityKind.Client);
        var start = _metrics.StoreDurationEnabled ? Stopwatch.GetTimestamp() : 0;
        try
        {
            ValueTask<TResult> pending;
            try
            {
                pending = call(store, argument, cancellationToken);
            }
            catch
            {
                EndStoreCall(store, operation, activity, start, succeeded: false);
                throw;
            }

            if (!pending.IsCompletedSuccessfully)
            {
                // The store call's activity ends where the call does, later; the caller goes on without it.
                return AwaitStoreCallAsync(pending, store, operation, activity, start);
            }

            var result = pending.Result;
            EndStoreCall(store, operation, activity, start, succeeded: true);
            return new ValueTask<TResult>(result);
        }
        finally
        {
            RestoreCallerContext(callerContext, activity);
        }
    }

    // A no-op when nothing changed (no activity listener, a store that sets no AsyncLocal). With the flow of the
    // execution context suppressed there is none to restore: the activity's parent is put back by hand.
    private static void RestoreCallerContext(ExecutionContext? callerContext, Activity? activity)
    {
        if (callerContext is not null)
        {
            ExecutionContext.Restore(callerContext);
        }
        else if (activity is not null)
        {
            Activity.Current = activity.Parent;
        }
    }

    private async ValueTask<TResult> AwaitStoreCallAsync<TResult>(
        ValueTask<TResult> pending, IIdempotencyStore store, StoreOperation operation, Activity? activity, long start)
    {
        var succeeded = false;
        try
        {
            var result = await pending.ConfigureAwait(false);
            succeeded = true;
            return result;
        }
        finally
        {
            EndStoreCall(store, operation, activity, start, succeeded);
        }
    }

    // The activity ends even when a meter listener throws on the measurement.
    private void EndStoreCall(IIdempotencyStore store, StoreOperation operation, Activity? activity, long start, bool succeeded)
    {
        try
        {
            if (start != 0)
            {
                _metrics.StoreOperation(operation.Name, store.Name, succeeded, start, Stopwatch.GetTimestamp());
            }
        }
        finally
        {
            if (activity is not null)
            {
                if (!succeeded)
                {
                    activity.SetStatus(ActivityStatusCode.Error);
                }

                activity.Dispose();
            }
        }
    }

    /// <summary>A store call's name in telemetry, and its activity's name built once (not on every call).</summary>
    private sealed class StoreOperation
    {
        private StoreOperation(string name)
        {
            Name = name;
            ActivityName = "idempotency.store." + name;
        }

        public static StoreOperation Claim { get; } = new("claim");

        public static StoreOperation Complete { get; } = new("complete");

        public static StoreOperation Release { get; } = new("release");

        public string Name { get; }

        public string ActivityName { get; }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
