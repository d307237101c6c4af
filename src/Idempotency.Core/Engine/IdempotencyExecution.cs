namespace Idempotency;

/// <summary>The result of <see cref="IdempotencyEngine.ExecuteAsync"/>: how it ended and what the adapter needs to answer.</summary>
/// <typeparam name="TOutcome">What the work produces.</typeparam>
public readonly struct IdempotencyExecution<TOutcome>
{
    internal IdempotencyExecution(IdempotencyExecutionStatus status, TOutcome? outcome = default, IdempotencyRecord record = default, TimeSpan retryAfter = default, Exception? fault = null)
    {
        Status = status;
        OutcomeRecorded = status is not (IdempotencyExecutionStatus.Replayed or IdempotencyExecutionStatus.RecordUnreadable
            or IdempotencyExecutionStatus.StoreUnavailable or IdempotencyExecutionStatus.ScopeQuotaExceeded);
        Outcome = outcome;
        Record = record;
        RetryAfter = retryAfter;
        Fault = fault;
    }

    /// <summary>Gets how the execution ended.</summary>
    public IdempotencyExecutionStatus Status { get; }

    /// <summary>
    /// Gets whether the engine has already counted this execution's outcome and written its audit event. It has when
    /// the work ran or was refused as in flight or mismatched; for <see cref="IdempotencyExecutionStatus.Replayed"/>,
    /// <see cref="IdempotencyExecutionStatus.RecordUnreadable"/>, <see cref="IdempotencyExecutionStatus.StoreUnavailable"/> and <see cref="IdempotencyExecutionStatus.ScopeQuotaExceeded"/>
    /// the adapter decides what happened (a record its codec cannot read, a request run unprotected) and calls
    /// <see cref="IdempotencyEngine.RecordOutcome(string, IdempotencyExecutionRequest)"/> itself.
    /// </summary>
    public bool OutcomeRecorded { get; }

    /// <summary>Gets whether the work ran in this call.</summary>
    public bool Ran => Status is IdempotencyExecutionStatus.Executed or IdempotencyExecutionStatus.Released or IdempotencyExecutionStatus.ClaimLost
        or IdempotencyExecutionStatus.CompletionFailed or IdempotencyExecutionStatus.OutcomeUnknown;

    /// <summary>Gets what the work returned, when it <see cref="Ran"/>.</summary>
    public TOutcome? Outcome { get; }

    /// <summary>Gets the stored record, when <see cref="Status"/> is <see cref="IdempotencyExecutionStatus.Replayed"/>.</summary>
    public IdempotencyRecord Record { get; }

    /// <summary>Gets how long to wait before retrying, for <see cref="IdempotencyExecutionStatus.InFlight"/> and <see cref="IdempotencyExecutionStatus.ScopeQuotaExceeded"/>.</summary>
    public TimeSpan RetryAfter { get; }

    /// <summary>
    /// Gets what went wrong, for <see cref="IdempotencyExecutionStatus.StoreUnavailable"/>,
    /// <see cref="IdempotencyExecutionStatus.ScopeQuotaExceeded"/>, <see cref="IdempotencyExecutionStatus.CompletionFailed"/>
    /// (the store's exception) and <see cref="IdempotencyExecutionStatus.RecordUnreadable"/> (an <see cref="InvalidDataException"/>).
    /// </summary>
    public Exception? Fault { get; }
}
