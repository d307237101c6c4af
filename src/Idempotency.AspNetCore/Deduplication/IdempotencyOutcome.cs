namespace Idempotency.AspNetCore.Deduplication;

/// <summary>The values of the <c>outcome</c> tag of <c>idempotency.requests</c>.</summary>
internal static class IdempotencyOutcome
{
    /// <summary>The request ran and its response was stored for replay.</summary>
    public const string Executed = "executed";

    /// <summary>The request ran, but its outcome was transient (exception, 5xx, 408, 425, 429): the key was released.</summary>
    public const string Released = "released";

    /// <summary>The request ran and answered, but its claim had been taken over, so nothing was stored.</summary>
    public const string ClaimLost = "claim_lost";

    /// <summary>
    /// The request failed after its response had started (or its outcome could not be recorded): its effect is presumed
    /// applied, and the key completed so that no retry runs it again.
    /// </summary>
    public const string OutcomeUnknown = "outcome_unknown";

    /// <summary>A stored response was replayed.</summary>
    public const string Replayed = "replayed";

    /// <summary>409: the original was still in flight.</summary>
    public const string Conflict = "conflict";

    /// <summary>422: the key belongs to another request.</summary>
    public const string Mismatch = "mismatch";

    /// <summary>400: the key was missing or invalid.</summary>
    public const string Rejected = "rejected";

    /// <summary>429: the caller's scope holds its whole share of the store; nothing ran.</summary>
    public const string Throttled = "throttled";

    /// <summary>503: the store could not be reached or was full.</summary>
    public const string StoreUnavailable = "store_unavailable";

    /// <summary>The store could not be reached and the request ran unprotected, as configured.</summary>
    public const string Unprotected = "unprotected";
}
