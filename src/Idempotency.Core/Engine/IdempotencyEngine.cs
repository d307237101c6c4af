using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Idempotency;

/// <summary>
/// Runs an operation at most once per key, for every front end of the library: the ASP.NET Core middleware, the
/// <see cref="IdempotentExecutor"/> for jobs and messages, and the gRPC interceptor are adapters around it.
/// </summary>
/// <remarks>
/// <para>
/// The engine owns, in one place, what every adapter needs: the owner token that fences each claim; the claim,
/// including waiting for an in-flight duplicate; running the work; completing the key with its outcome or releasing
/// it, including a claim lost to a later caller, a release that itself fails (the work's own exception is never
/// masked), and the rule that a failure after part of the outcome reached the caller completes the key as "outcome
/// unknown" instead of letting a retry run the work again; a store bound to a unit of work
/// (<see cref="IIdempotencyUnitOfWorkStore"/>), whose failed completion means that nothing committed; the telemetry
/// of every store call and every outcome; and the versioned envelope of the stored record.
/// </para>
/// <para>
/// An adapter supplies the key, the scope, the fingerprint, the work and its outcome codec
/// (<see cref="IIdempotentWork{TOutcome}"/>), and turns the returned <see cref="IdempotencyExecution{TOutcome}"/>
/// into its transport's answer. The engine is a singleton, registered by <c>AddIdempotency()</c> and
/// <c>AddIdempotentExecutor()</c>.
/// </para>
/// </remarks>
public sealed partial class IdempotencyEngine
{
    private static readonly ActivitySource s_activitySource = new(IdempotencyTelemetry.ActivitySourceName);
    private static readonly TimeSpan s_firstWaitPoll = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan s_maxWaitPoll = TimeSpan.FromMilliseconds(500);

    private readonly IdempotencyEngineOptions _options;
    private readonly IdempotencyMetrics _metrics;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly ILogger _auditLogger;
    private readonly IdempotencyAuditHasher _hasher;

    /// <summary>Initializes the engine.</summary>
    /// <param name="options">The record format to write and the secret of the hashes in log events.</param>
    /// <param name="timeProvider">The clock of in-flight waits and record completion times.</param>
    /// <param name="loggerFactory">Creates the engine's and the audit loggers; without one, nothing is logged.</param>
    /// <param name="meterFactory">Creates the library's meter; without one, the meter is created directly.</param>
    public IdempotencyEngine(IOptions<IdempotencyEngineOptions> options, TimeProvider timeProvider, ILoggerFactory? loggerFactory = null, IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        loggerFactory ??= NullLoggerFactory.Instance;
        _options = options.Value;
        _metrics = new IdempotencyMetrics(meterFactory);
        _timeProvider = timeProvider;
        _logger = loggerFactory.CreateLogger<IdempotencyEngine>();
        _auditLogger = loggerFactory.CreateLogger(IdempotencyTelemetry.AuditLogCategory);
        _hasher = new IdempotencyAuditHasher(_options.AuditHashSecret);
        if (_hasher.IsRandomSecret)
        {
            LogAuditSecretRandom(_auditLogger);
        }
    }

    /// <summary>
    /// Claims the request's key and runs <paramref name="work"/> under it, unless the key has completed (the stored
    /// record is returned), is held by another caller, or belongs to another request.
    /// </summary>
    /// <typeparam name="TOutcome">What the work produces.</typeparam>
    /// <param name="request">The key, scope, fingerprint, store and policy of this operation.</param>
    /// <param name="work">The work and its outcome codec.</param>
    /// <param name="cancellationToken">
    /// Cancels the claim, the in-flight wait and the work. Completing or releasing a claim is never cancelled: once the
    /// work has run, its outcome is recorded even if the caller has gone.
    /// </param>
    /// <returns>How the execution ended; see <see cref="IdempotencyExecutionStatus"/>.</returns>
    /// <exception cref="Exception">
    /// Whatever the work threw, unchanged, after the key was released (or completed as "outcome unknown" when part of
    /// the outcome had been delivered). A failing release never replaces it.
    /// </exception>
    public async ValueTask<IdempotencyExecution<TOutcome>> ExecuteAsync<TOutcome>(
        IdempotencyExecutionRequest request, IIdempotentWork<TOutcome> work, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(work);

        var ownerToken = OwnerTokens.Create();
        IdempotencyClaimResult claim;
        try
        {
            claim = await ClaimAsync(request, request.Fingerprint, ownerToken, cancellationToken).ConfigureAwait(false);
            if (claim.Status == ClaimStatus.FingerprintMismatch)
            {
                claim = await ClaimWithPreviousFingerprintAsync(request, work, ownerToken, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // Nothing ran: the adapter answers (and counts) "store unavailable", or runs unprotected if it is allowed to.
            LogStoreFaultDetail(_logger, ex, request.Key);
            return ex is IdempotencyScopeQuotaExceededException quota
                ? new(IdempotencyExecutionStatus.ScopeQuotaExceeded, retryAfter: quota.RetryAfter, fault: ex)
                : new(IdempotencyExecutionStatus.StoreUnavailable, fault: ex);
        }

        switch (claim.Status)
        {
            case ClaimStatus.Claimed:
                return await RunClaimedAsync(request, work, ownerToken, claim.LeaseExpiresAt, cancellationToken).ConfigureAwait(false);
            case ClaimStatus.Completed:
                try
                {
                    return new(IdempotencyExecutionStatus.Replayed, record: IdempotencyRecordEnvelope.Read(claim.Payload));
                }
                catch (InvalidDataException ex)
                {
                    return new(IdempotencyExecutionStatus.RecordUnreadable, fault: ex);
                }

            case ClaimStatus.InFlight:
                LogInFlight(_logger, request.Key);
                RecordOutcome(IdempotencyOutcome.Conflict, request, work);
                return new(IdempotencyExecutionStatus.InFlight, retryAfter: claim.LeaseRemaining);
            default:
                LogFingerprintMismatch(_logger, request.Key);
                RecordOutcome(IdempotencyOutcome.Mismatch, request, work);
                return new(IdempotencyExecutionStatus.FingerprintMismatch);
        }
    }

    /// <summary>
    /// Counts an operation's outcome on <c>idempotency.requests</c> and writes its audit event: one per keyed operation,
    /// at Information, in the <see cref="IdempotencyTelemetry.AuditLogCategory"/> category, with keyed hashes instead of
    /// the key and the scope. Adapters call it for what the engine did not record
    /// (<see cref="IdempotencyExecution{TOutcome}.OutcomeRecorded"/>) and for what they refuse before the engine runs.
    /// </summary>
    /// <param name="outcome">One of the <see cref="IdempotencyOutcome"/> values.</param>
    /// <param name="operationName">The operation's name: a route template, a gRPC method, a message type; never a raw path.</param>
    /// <param name="key">The idempotency key, or <see langword="null"/> when the caller sent none that is valid.</param>
    /// <param name="scope">The key's scope, or <see langword="null"/> when none was resolved.</param>
    /// <param name="traceId">The trace id when there is no current <see cref="Activity"/>.</param>
    public void RecordOutcome(string outcome, string operationName, string? key, string? scope, string? traceId = null)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        ArgumentNullException.ThrowIfNull(operationName);
        _metrics.Request(outcome);
        if (_auditLogger.IsEnabled(LogLevel.Information))
        {
            LogAudit(
                _auditLogger,
                outcome,
                operationName,
                Activity.Current?.TraceId.ToHexString() ?? traceId ?? string.Empty,
                _hasher.HashKey(key),
                _hasher.HashScope(scope));
        }
    }

    /// <summary>Counts and audits an outcome of <paramref name="request"/>; see <see cref="RecordOutcome(string, string, string?, string?, string?)"/>.</summary>
    /// <param name="outcome">One of the <see cref="IdempotencyOutcome"/> values.</param>
    /// <param name="request">The operation.</param>
    public void RecordOutcome(string outcome, IdempotencyExecutionRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        RecordOutcome(outcome, request.OperationName, request.Key, request.Scope, request.TraceId);
    }

    // Counts and audits an outcome of the execution, and tells the work (the adapter's telemetry).
    private void RecordOutcome<TOutcome>(string outcome, IdempotencyExecutionRequest request, IIdempotentWork<TOutcome> work)
    {
        RecordOutcome(outcome, request);
        work.OnOutcomeRecorded(outcome);
    }

    /// <summary>
    /// The keyed hash of <paramref name="key"/> that log events above Debug carry instead of the key (the first 8 bytes
    /// of HMAC-SHA256 under <see cref="IdempotencyEngineOptions.AuditHashSecret"/>, in hex), for adapters' own events.
    /// </summary>
    /// <param name="key">The idempotency key, or <see langword="null"/>.</param>
    /// <returns>The hash, or <c>-</c> for <see langword="null"/>.</returns>
    public string HashKey(string? key) => _hasher.HashKey(key);

    private async ValueTask<IdempotencyExecution<TOutcome>> RunClaimedAsync<TOutcome>(
        IdempotencyExecutionRequest request, IIdempotentWork<TOutcome> work, string ownerToken, DateTimeOffset leaseExpiresAt, CancellationToken cancellationToken)
    {
        // A unit-of-work store commits the outcome with the work: until it has, nothing was delivered and nothing happened.
        var holdsOutcome = request.Store is IIdempotencyUnitOfWorkStore;
        TOutcome outcome;
        try
        {
            outcome = await work.RunAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            if (!holdsOutcome && work.HasDeliveryStarted(out var startedStatus))
            {
                // Part of the outcome may have reached the caller, so the effect must be presumed applied: a retry must
                // never run it again. The key completes as "outcome unknown" and every retry is told so.
                LogOutcomeUnknown(_logger, ex.GetType().Name, HashKey(request.Key));
                RecordOutcome(IdempotencyOutcome.OutcomeUnknown, request, work);
                await CompleteOutcomeUnknownAsync(request, ownerToken, leaseExpiresAt, startedStatus).ConfigureAwait(false);
            }
            else if (await ReleaseAsync(request, ownerToken).ConfigureAwait(false))
            {
                LogReleasedAfterException(_logger, ex.GetType().Name, request.Key);
                RecordOutcome(IdempotencyOutcome.Released, request, work);
            }
            else
            {
                await CompleteCommittedOutsideUnitAsync(request, work, ownerToken, leaseExpiresAt).ConfigureAwait(false);
            }

            throw;
        }

        IdempotencyRecordContent? content;
        byte[]? record = null;
        try
        {
            content = work.CreateRecord(outcome);
            if (content is not null)
            {
                record = IdempotencyRecordEnvelope.Write(_options.RecordFormat, content, _timeProvider.GetUtcNow());
            }
        }
        catch (Exception ex)
        {
            LogOutcomeNotRecordable(_logger, ex, HashKey(request.Key));
            if (holdsOutcome)
            {
                // Nothing has been delivered: roll back, and let the exception surface as the work's would.
                if (await ReleaseAsync(request, ownerToken).ConfigureAwait(false))
                {
                    RecordOutcome(IdempotencyOutcome.Released, request, work);
                }
                else
                {
                    await CompleteCommittedOutsideUnitAsync(request, work, ownerToken, leaseExpiresAt).ConfigureAwait(false);
                }

                throw;
            }

            // The work ran to completion and its outcome is on its way: never run it again under this key.
            work.HasDeliveryStarted(out var startedStatus);
            RecordOutcome(IdempotencyOutcome.OutcomeUnknown, request, work);
            await CompleteOutcomeUnknownAsync(request, ownerToken, leaseExpiresAt, startedStatus).ConfigureAwait(false);
            return new(IdempotencyExecutionStatus.OutcomeUnknown, outcome);
        }

        if (record is null)
        {
            if (!await ReleaseAsync(request, ownerToken).ConfigureAwait(false))
            {
                // The transient outcome still goes to the caller, but a retry is told the outcome is unknown.
                await CompleteCommittedOutsideUnitAsync(request, work, ownerToken, leaseExpiresAt).ConfigureAwait(false);
                return new(IdempotencyExecutionStatus.OutcomeUnknown, outcome);
            }

            LogReleasedAfterTransientOutcome(_logger, request.Key);
            RecordOutcome(IdempotencyOutcome.Released, request, work);
            return new(IdempotencyExecutionStatus.Released, outcome);
        }

        CompletionStatus completion;
        try
        {
            // Not the caller's token: once the work has run, its outcome must be recorded even if the caller left.
            completion = await CallStoreAsync(
                request.Store,
                StoreOperation.Complete,
                static (store, completeRequest, ct) => store.CompleteAsync(completeRequest, ct),
                new IdempotencyCompleteRequest(request.StorageKey, ownerToken, record, request.Retention) { LeaseExpiresAt = leaseExpiresAt },
                CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            LogStoreFaultDetail(_logger, ex, request.Key);
            if (holdsOutcome && !await ReleaseAsync(request, ownerToken).ConfigureAwait(false))
            {
                // The unit of work could not commit, but the work had committed part of itself outside it: the caller is
                // told to retry, and the retry is told the outcome is unknown instead of running the work again.
                LogCompleteFailed(_logger, HashKey(request.Key), StoreFaultDescription.Describe(ex, request.StorageKey), CommittedOutsideTheUnit);
                await CompleteCommittedOutsideUnitAsync(request, work, ownerToken, leaseExpiresAt).ConfigureAwait(false);
                return new(IdempotencyExecutionStatus.CompletionFailed, outcome, fault: ex);
            }

            LogCompleteFailed(_logger, HashKey(request.Key), StoreFaultDescription.Describe(ex, request.StorageKey), holdsOutcome ? NothingCommitted : RetriesWaitForTheLease);
            RecordOutcome(IdempotencyOutcome.StoreUnavailable, request, work);
            return new(IdempotencyExecutionStatus.CompletionFailed, outcome, fault: ex);
        }

        if (completion == CompletionStatus.ClaimLost)
        {
            LogClaimLost(_logger, HashKey(request.Key), request.LeaseDuration);
            RecordOutcome(IdempotencyOutcome.ClaimLost, request, work);
            return new(IdempotencyExecutionStatus.ClaimLost, outcome);
        }

        LogExecuted(_logger, request.Key);
        RecordOutcome(IdempotencyOutcome.Executed, request, work);
        return new(IdempotencyExecutionStatus.Executed, outcome);
    }

    private const string NothingCommitted = "Nothing was committed, the work's changes included: the caller was told to retry.";
    private const string CommittedOutsideTheUnit = "The work had committed part of itself outside its unit of work, so the key completes as 'outcome unknown' instead.";
    private const string RetriesWaitForTheLease = "A retry is told the operation is in flight until the lease ends, then runs it again.";

    /// <summary>Completes the claim with an "outcome unknown" record, so that no retry with this key runs the work again.</summary>
    private async ValueTask CompleteOutcomeUnknownAsync(IdempotencyExecutionRequest request, string ownerToken, DateTimeOffset leaseExpiresAt, int startedStatus)
    {
        try
        {
            var record = IdempotencyRecordEnvelope.WriteOutcomeUnknown(_options.RecordFormat, startedStatus, _timeProvider.GetUtcNow());
            var completion = await CallStoreAsync(
                request.Store,
                StoreOperation.Complete,
                static (store, completeRequest, ct) => store.CompleteAsync(completeRequest, ct),
                new IdempotencyCompleteRequest(request.StorageKey, ownerToken, record, request.Retention) { LeaseExpiresAt = leaseExpiresAt },
                CancellationToken.None).ConfigureAwait(false);
            if (completion == CompletionStatus.ClaimLost)
            {
                LogClaimLost(_logger, HashKey(request.Key), request.LeaseDuration);
            }
        }
        catch (Exception ex)
        {
            // Never in place of the work's own exception, which the caller rethrows.
            LogStoreFaultDetail(_logger, ex, request.Key);
            LogCompleteFailed(_logger, HashKey(request.Key), StoreFaultDescription.Describe(ex, request.StorageKey), RetriesWaitForTheLease);
        }
    }

    /// <summary>
    /// Completes the claim as "outcome unknown" after a unit of work's operation failed having committed part of its work
    /// outside the unit (<see cref="IIdempotencyUnitOfWorkStore.TryRollBackAsync"/> returned <see langword="false"/>).
    /// </summary>
    private async ValueTask CompleteCommittedOutsideUnitAsync<TOutcome>(IdempotencyExecutionRequest request, IIdempotentWork<TOutcome> work, string ownerToken, DateTimeOffset leaseExpiresAt)
    {
        LogOutcomeUnknownAfterCommitOutsideUnit(_logger, HashKey(request.Key));
        RecordOutcome(IdempotencyOutcome.OutcomeUnknown, request, work);
        work.HasDeliveryStarted(out var startedStatus);
        await CompleteOutcomeUnknownAsync(request, ownerToken, leaseExpiresAt, startedStatus).ConfigureAwait(false);
    }

    /// <summary>
    /// Releases the claim; for a unit of work, rolls it back (<see cref="IIdempotencyUnitOfWorkStore.TryRollBackAsync"/>).
    /// Returns <see langword="false"/> only when the unit of work kept the claim because part of the work committed outside it.
    /// </summary>
    private async ValueTask<bool> ReleaseAsync(IdempotencyExecutionRequest request, string ownerToken)
    {
        try
        {
            return await CallStoreAsync(
                request.Store,
                StoreOperation.Release,
                static async (store, claim, ct) =>
                {
                    if (store is IIdempotencyUnitOfWorkStore unitOfWork)
                    {
                        return await unitOfWork.TryRollBackAsync(claim.StorageKey, claim.OwnerToken, ct).ConfigureAwait(false);
                    }

                    await store.ReleaseAsync(claim.StorageKey, claim.OwnerToken, ct).ConfigureAwait(false);
                    return true;
                },
                (request.StorageKey, OwnerToken: ownerToken),
                CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // The claim stays until its lease ends; a retry before then is told "in flight", after it runs again. Never
            // in place of the work's own exception, which the caller rethrows.
            LogStoreFaultDetail(_logger, ex, request.Key);
            LogReleaseFailed(_logger, HashKey(request.Key), StoreFaultDescription.Describe(ex, request.StorageKey), request.LeaseDuration);
            return true;
        }
    }
}
