using Idempotency.AspNetCore.Deduplication;
using Microsoft.AspNetCore.Http;

namespace Idempotency.AspNetCore.Mirroring;

/// <summary>Writes the mirror guard's <c>application/problem+json</c> responses, the same way the idempotency middleware does.</summary>
internal sealed class MirrorProblemWriter(IdempotencyProblemWriter writer)
{
    // 403, not 5xx: the refusal is deliberate policy, not a fault, so canary analysis that counts 5xx (Flagger, Istio
    // dashboards) does not blame the new version; not 2xx: nothing was applied, and nobody should read it as done.
    public Task WriteSuppressedAsync(HttpContext context, MirrorClassification classification, MirrorDataMode data) => writer.WriteAsync(
        context,
        StatusCodes.Status403Forbidden,
        MirrorProblemTypes.WriteSuppressed,
        "Mirrored write suppressed",
        $"This instance is a canary that receives mirrored copies of live traffic and works on {(data == MirrorDataMode.Shared ? "the primary's (shared)" : "its own (isolated)")} data. This copy was not run, so nothing was applied: {classification.Description}",
        new Dictionary<string, object?>
        {
            ["class"] = classification.Class.ToString(),
            ["reason"] = classification.Reason.ToString(),
        });

    public Task WriteMarkerInvalidAsync(HttpContext context, string headerName) => writer.WriteAsync(
        context,
        StatusCodes.Status403Forbidden,
        MirrorProblemTypes.MarkerInvalid,
        "Mirror marker invalid",
        $"This instance is a canary. The request carries the '{headerName}' header that marks mirrored copies, but not the value this instance expects, so it was neither trusted as a copy nor run.");
}
