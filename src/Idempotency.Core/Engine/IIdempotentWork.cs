namespace Idempotency;

/// <summary>
/// What an adapter gives <see cref="IdempotencyEngine"/> to run under a claimed key: the work itself, and how its
/// outcome becomes a stored record (the adapter's outcome codec).
/// </summary>
/// <typeparam name="TOutcome">What the work produces (an HTTP adapter's may be nothing more than "the handler returned").</typeparam>
public interface IIdempotentWork<TOutcome>
{
    /// <summary>Runs the work once. The engine has claimed the key and will complete or release it.</summary>
    /// <param name="cancellationToken">The caller's token.</param>
    /// <returns>The outcome.</returns>
    ValueTask<TOutcome> RunAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Called after <see cref="RunAsync"/> threw: whether part of the outcome may already have reached the caller (an
    /// HTTP response that had started). The engine then completes the key as "outcome unknown" instead of releasing it,
    /// because the effect must be presumed applied and must never run again.
    /// </summary>
    /// <param name="startedStatus">The status the delivered part carried (the HTTP status), or 0.</param>
    /// <returns><see langword="true"/> when part of the outcome may have been delivered.</returns>
    bool HasDeliveryStarted(out int startedStatus);

    /// <summary>
    /// Turns a returned outcome into the content to store, or <see langword="null"/> when the outcome is transient (an
    /// HTTP 503, say) and the key must be released so that a retry runs the work again. An exception thrown here is
    /// treated as described on <see cref="IdempotencyExecutionStatus.OutcomeUnknown"/>.
    /// </summary>
    /// <param name="outcome">What <see cref="RunAsync"/> returned.</param>
    /// <returns>The record's content, or <see langword="null"/> to release the key.</returns>
    IdempotencyRecordContent? CreateRecord(TOutcome outcome);

    /// <summary>
    /// Called each time the engine counts an outcome of this execution on <c>idempotency.requests</c> (one of the
    /// <see cref="IdempotencyOutcome"/> values: executed, released, outcome-unknown, conflict, ...), including just before
    /// it rethrows the work's exception, so that the adapter can put the same outcome on its transport's own telemetry
    /// (the HTTP request's metric tags and activity). The engine decides the outcome; the adapter never derives it again.
    /// </summary>
    /// <param name="outcome">The outcome the engine counted.</param>
    void OnOutcomeRecorded(string outcome)
    {
    }

    /// <summary>
    /// Called only when the claim's fingerprint did not match the stored record: the fingerprint that an earlier release
    /// of the adapter computed for the same request, so that the records it wrote still answer their retries during a
    /// rolling upgrade. The engine then claims with it once; its answer is the answer (a replay, a conflict, a claim
    /// under the same owner token, or the mismatch).
    /// </summary>
    /// <param name="cancellationToken">The caller's token.</param>
    /// <returns>
    /// The earlier release's fingerprint, or <see langword="null"/> when there is none or it cannot be computed (the
    /// default): the mismatch stands.
    /// </returns>
    ValueTask<byte[]?> ComputePreviousFingerprintAsync(CancellationToken cancellationToken) => ValueTask.FromResult<byte[]?>(null);
}
