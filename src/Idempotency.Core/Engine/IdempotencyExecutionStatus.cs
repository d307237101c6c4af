namespace Idempotency;

/// <summary>How <see cref="IdempotencyEngine.ExecuteAsync"/> ended. Each status maps to one value of <see cref="IdempotencyOutcome"/>.</summary>
public enum IdempotencyExecutionStatus
{
    /// <summary>The work ran and its outcome was stored for every retry.</summary>
    Executed,

    /// <summary>
    /// The work ran but its outcome was transient (<see cref="IIdempotentWork{TOutcome}.CreateRecord"/> returned
    /// <see langword="null"/>), so the key was released and a retry runs it again.
    /// </summary>
    Released,

    /// <summary>
    /// The work ran, but the claim was no longer this caller's when it completed (its lease and the store's grace
    /// period ended and another caller took the key): nothing was stored. With a unit-of-work store nothing committed.
    /// </summary>
    ClaimLost,

    /// <summary>
    /// The work ran, but storing its outcome failed (<see cref="IdempotencyExecution{TOutcome}.Fault"/>). Retries get
    /// "in flight" until the lease ends, then run again. With a unit-of-work store nothing committed.
    /// </summary>
    CompletionFailed,

    /// <summary>
    /// The work ran and its outcome cannot be recorded (its codec threw), so the key completed as "outcome unknown":
    /// every retry is told so, and none runs the work again. With a unit-of-work store the key was released instead
    /// and the codec's exception propagates.
    /// </summary>
    OutcomeUnknown,

    /// <summary>The key had completed: <see cref="IdempotencyExecution{TOutcome}.Record"/> holds the stored outcome. The work did not run.</summary>
    Replayed,

    /// <summary>
    /// Another caller holds the key and has not finished (after the configured wait, if any). The work did not run;
    /// retry after <see cref="IdempotencyExecution{TOutcome}.RetryAfter"/>.
    /// </summary>
    InFlight,

    /// <summary>
    /// The key has completed, but its record cannot be read (<see cref="IdempotencyExecution{TOutcome}.Fault"/>): it is
    /// corrupt, or a newer release wrote it in an envelope this one does not read. The work did not run.
    /// </summary>
    RecordUnreadable,

    /// <summary>The key belongs to a different request (another fingerprint). The work did not run.</summary>
    FingerprintMismatch,

    /// <summary>
    /// The caller's scope holds its whole share of the store (<see cref="IdempotencyScopeQuotaExceededException"/>).
    /// The work did not run; retry after <see cref="IdempotencyExecution{TOutcome}.RetryAfter"/>.
    /// </summary>
    ScopeQuotaExceeded,

    /// <summary>The store could not be reached or is full (<see cref="IdempotencyExecution{TOutcome}.Fault"/>). The work did not run.</summary>
    StoreUnavailable,
}
