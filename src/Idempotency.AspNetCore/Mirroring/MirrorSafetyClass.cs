namespace Idempotency.AspNetCore.Mirroring;

/// <summary>
/// How safely a request can be processed a second time, as a mirrored copy (shadow traffic) sent to a canary.
/// See <see cref="MirrorClassification"/> for what each class may be mirrored to.
/// </summary>
public enum MirrorSafetyClass
{
    /// <summary>
    /// Changes nothing (GET, HEAD, OPTIONS, TRACE, or an endpoint marked mirror-safe): a copy may run anywhere, even
    /// against the primary's data.
    /// </summary>
    Safe,

    /// <summary>
    /// Processing it twice has the effect of processing it once (PUT, DELETE, or an endpoint marked idempotent by
    /// design). Not safe on shared data: a delayed copy can overwrite a newer write.
    /// </summary>
    Idempotent,

    /// <summary>
    /// An unsafe method on an endpoint that requires an <c>Idempotency-Key</c>, sent with one: a copy runs at most
    /// once per key. Not safe on shared data: the copy's effect would be applied beside the original's.
    /// </summary>
    Deduplicated,

    /// <summary>
    /// An unsafe method on an endpoint that requires a precondition (<c>If-Match</c>, <c>If-None-Match</c>), sent
    /// with one: a second copy fails with 412. Not safe on shared data: a copy that wins makes the original fail.
    /// </summary>
    Conditional,

    /// <summary>
    /// Everything else: POST and PATCH without deduplication, endpoints marked not mirror-safe, connection upgrades
    /// (WebSockets) and CONNECT. A copy must never run.
    /// </summary>
    Unsafe,
}
