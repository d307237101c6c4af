namespace Idempotency.AspNetCore.Mirroring;

/// <summary>What a request to an endpoint must carry for its endpoint-level class to hold.</summary>
public enum MirrorRequestCondition
{
    /// <summary>The class holds for every request to the endpoint.</summary>
    None,

    /// <summary>The class holds only for requests that carry an <c>Idempotency-Key</c>; others are unsafe.</summary>
    IdempotencyKey,

    /// <summary>The class holds only for requests that carry <c>If-Match</c> or <c>If-None-Match</c>; others are unsafe.</summary>
    Precondition,
}
