using Idempotency.AspNetCore.Deduplication;
using Microsoft.AspNetCore.Http;

namespace Idempotency.AspNetCore.Mirroring;

/// <summary>
/// Writes the mirror guard's refusals: <c>application/problem+json</c> responses, the same way the idempotency middleware
/// does, or, to a gRPC call, the same text as a gRPC status (<see cref="GrpcStatusResponse"/>).
/// </summary>
internal sealed class MirrorProblemWriter(IdempotencyProblemWriter writer)
{
    // 403, not 5xx: the refusal is deliberate policy, not a fault, so canary analysis that counts 5xx (Flagger, Istio
    // dashboards) does not blame the new version; not 2xx: nothing was applied, and nobody should read it as done.
    // PERMISSION_DENIED for a gRPC call, for the same reasons: the gRPC counterpart of 403 (what a gRPC client made of
    // the 403 before, so dashboards keep counting the same code), a refusal by policy that retrying never changes, and
    // not a code that retry policies or canary error rates (UNAVAILABLE, INTERNAL, UNKNOWN) treat as a fault.
    public Task WriteSuppressedAsync(HttpContext context, MirrorClassification classification, MirrorDataMode data)
    {
        var detail = $"This instance is a canary that receives mirrored copies of live traffic and works on {(data == MirrorDataMode.Shared ? "the primary's (shared)" : "its own (isolated)")} data. This copy was not run, so nothing was applied: {classification.Description}";
        if (GrpcStatusResponse.IsGrpc(context.Request, out var grpcContentType))
        {
            return GrpcStatusResponse.WriteAsync(context, grpcContentType, GrpcStatusResponse.PermissionDenied, detail);
        }

        return writer.WriteAsync(
            context,
            StatusCodes.Status403Forbidden,
            MirrorProblemTypes.WriteSuppressed,
            "Mirrored write suppressed",
            detail,
            new Dictionary<string, object?>
            {
                ["class"] = classification.Class.ToString(),
                ["reason"] = classification.Reason.ToString(),
            });
    }

    public Task WriteMarkerInvalidAsync(HttpContext context, string headerName)
    {
        var detail = $"This instance is a canary. The request carries the '{headerName}' header that marks mirrored copies, but not the value this instance expects, so it was neither trusted as a copy nor run.";
        return GrpcStatusResponse.IsGrpc(context.Request, out var grpcContentType)
            ? GrpcStatusResponse.WriteAsync(context, grpcContentType, GrpcStatusResponse.PermissionDenied, detail)
            : writer.WriteAsync(context, StatusCodes.Status403Forbidden, MirrorProblemTypes.MarkerInvalid, "Mirror marker invalid", detail);
    }
}
