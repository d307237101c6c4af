namespace Idempotency;

/// <summary>The values of the <c>outcome</c> tag of <c>idempotency.requests</c> and of the audit events.</summary>
public static class IdempotencyOutcome
{
    /// <summary>The operation ran and its outcome was stored for replay.</summary>
    public const string Executed = "executed";

    /// <summary>The operation ran, but its outcome was transient (an exception, an HTTP 5xx, 408, 425, 428 or 429): the key was released.</summary>
    public const string Released = "released";

    /// <summary>The operation ran and answered, but its claim had been taken over, so nothing was stored.</summary>
    public const string ClaimLost = "claim_lost";

    /// <summary>
    /// The operation failed after its response had started (or its outcome could not be recorded, or it had committed part of
    /// its work outside its unit of work): its effect is presumed applied, and the key completed so that no retry runs it again.
    /// </summary>
    public const string OutcomeUnknown = "outcome_unknown";

    /// <summary>A stored outcome was replayed.</summary>
    public const string Replayed = "replayed";

    /// <summary>The original was still in flight (HTTP 409).</summary>
    public const string Conflict = "conflict";

    /// <summary>The key belongs to another request (HTTP 422).</summary>
    public const string Mismatch = "mismatch";

    /// <summary>The key was missing or invalid (HTTP 400).</summary>
    public const string Rejected = "rejected";

    /// <summary>The caller's scope holds its whole share of the store; nothing ran (HTTP 429).</summary>
    public const string Throttled = "throttled";

    /// <summary>The store could not be reached or was full, or the outcome could not be stored (HTTP 503).</summary>
    public const string StoreUnavailable = "store_unavailable";

    /// <summary>The store could not be reached and the operation ran unprotected, as configured.</summary>
    public const string Unprotected = "unprotected";
}
