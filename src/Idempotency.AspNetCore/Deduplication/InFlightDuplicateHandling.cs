namespace Idempotency.AspNetCore.Deduplication;

/// <summary>What a request does when another request with the same key is still running.</summary>
public enum InFlightDuplicateHandling
{
    /// <summary>Answer 409 Conflict with <c>Retry-After</c> at once.</summary>
    Reject,

    /// <summary>
    /// Wait up to <see cref="IdempotencyOptions.InFlightWaitTimeout"/> for the original to finish, then replay its
    /// response (or answer 409 if it is still running).
    /// </summary>
    Wait,
}
