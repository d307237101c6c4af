namespace Idempotency;

/// <summary>What <see cref="IIdempotencyStore.ClaimAsync"/> found.</summary>
public enum ClaimStatus
{
    /// <summary>The caller now owns the key under a lease and must complete or release it.</summary>
    Claimed,

    /// <summary>Another owner holds a live lease on the key: the original request is still running.</summary>
    InFlight,

    /// <summary>The key has completed; the stored payload is in the result.</summary>
    Completed,

    /// <summary>The key is held or completed for a request with a different fingerprint.</summary>
    FingerprintMismatch,
}
