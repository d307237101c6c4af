namespace Idempotency;

/// <summary>What <see cref="IIdempotencyStore.CompleteAsync"/> did.</summary>
public enum CompletionStatus
{
    /// <summary>The outcome is stored and will be replayed until the retention ends.</summary>
    Completed,

    /// <summary>
    /// The caller no longer owned the claim (its lease expired and another request claimed the key, the claim was
    /// released, or the store's grace period after the lease had passed); nothing was stored.
    /// </summary>
    ClaimLost,
}
