namespace Idempotency.AspNetCore.Mirroring;

/// <summary>The operator-facing sentence for each <see cref="MirrorSafetyReason"/>.</summary>
internal static class MirrorSafetyDescriptions
{
    public static string Describe(MirrorSafetyReason reason) => reason switch
    {
        MirrorSafetyReason.SafeMethod => "GET, HEAD, OPTIONS and TRACE are safe: a copy changes nothing.",
        MirrorSafetyReason.MarkedMirrorSafe => "The endpoint is marked mirror-safe: a copy changes nothing.",
        MirrorSafetyReason.IdempotentMethod => "PUT and DELETE are idempotent: a copy has the effect of the original, but a delayed copy can overwrite a newer write on shared data.",
        MirrorSafetyReason.MarkedIdempotent => "The endpoint is marked idempotent by design: a copy has the effect of the original, but a delayed copy can overwrite a newer write on shared data.",
        MirrorSafetyReason.IdempotencyKeyRequired => "The endpoint requires an Idempotency-Key: a keyed copy runs at most once, but on shared data its effect would add to the original's.",
        MirrorSafetyReason.IdempotencyKeySent => "The request carries an Idempotency-Key the endpoint honours: a copy runs at most once, but on shared data its effect would add to the original's.",
        MirrorSafetyReason.IdempotencyKeyMissing => "The endpoint requires an Idempotency-Key but the request has none: nothing deduplicates a copy.",
        MirrorSafetyReason.PreconditionRequired => "The endpoint requires a precondition (If-Match or If-None-Match): a second copy fails with 412, but on shared data a copy that wins makes the original fail.",
        MirrorSafetyReason.PreconditionMissing => "The endpoint requires a precondition but the request has none: nothing stops a copy.",
        MirrorSafetyReason.MarkedNotMirrorSafe => "The endpoint is marked not mirror-safe.",
        MirrorSafetyReason.UnsafeMethod => "The method is neither safe nor idempotent and the endpoint does not deduplicate it: a copy would apply its effect again.",
        MirrorSafetyReason.AnyMethod => "The endpoint accepts any method, unsafe ones included, and does not deduplicate them.",
        MirrorSafetyReason.Upgrade => "The request upgrades the connection (WebSockets): a copy cannot be replayed.",
        MirrorSafetyReason.Connect => "CONNECT opens a tunnel: a copy cannot be replayed.",
        _ => reason.ToString(),
    };
}
