namespace Idempotency;

/// <summary>What the in-memory store does when a new key finds it full (<see cref="InMemoryIdempotencyStoreOptions.WhenFull"/>).</summary>
public enum InMemoryStoreFullBehavior
{
    /// <summary>
    /// Makes room by evicting the oldest completed records, first from scopes that hold more than their share
    /// (<see cref="InMemoryIdempotencyStoreOptions.MaxScopeShare"/>). A record in flight is never evicted. The store keeps
    /// answering; what shrinks is the dedup window: a retry that arrives after its record was evicted runs again.
    /// </summary>
    EvictOldestCompleted,

    /// <summary>
    /// Refuses new keys with <see cref="IdempotencyStoreCapacityExceededException"/> (503) until records expire, and a
    /// scope that holds its share with <see cref="IdempotencyScopeQuotaExceededException"/> (429). No record is evicted
    /// before its retention ends.
    /// </summary>
    RefuseNewClaims,
}
