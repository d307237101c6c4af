using Idempotency.AspNetCore.Deduplication;

namespace Idempotency.AspNetCore.Mirroring;

/// <summary>
/// The stable <c>type</c> of each problem response the mirror guard writes, appended to
/// <see cref="IdempotencyOptions.ProblemTypeBaseUri"/>. They never change.
/// </summary>
public static class MirrorProblemTypes
{
    /// <summary>
    /// 403: a canary did not run a mirrored copy, because its class is not mirror-safe for the canary's data mode.
    /// Nothing was applied. Proxies discard a copy's response, so only logs and metrics see it.
    /// </summary>
    public const string WriteSuppressed = "mirror-write-suppressed";

    /// <summary>403: a canary refused a request whose marker header does not carry the configured secret. Nothing was run.</summary>
    public const string MarkerInvalid = "mirror-marker-invalid";
}
