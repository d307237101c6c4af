using Microsoft.AspNetCore.Http;

namespace Idempotency.AspNetCore.Preconditions;

/// <summary>
/// The one place where the mirror classifier learns that an endpoint requires a precondition
/// (<c>.RequirePrecondition()</c> / <see cref="RequirePreconditionAttribute"/>), and which request headers satisfy it.
/// </summary>
internal static class PreconditionRequirement
{
    /// <summary>Whether the endpoint refuses writes that carry no precondition (428 Precondition Required).</summary>
    public static bool IsRequired(EndpointMetadataCollection metadata) =>
        metadata.GetMetadata<IPreconditionMetadata>() is not null;

    /// <summary>Whether the request carries a precondition that a conditional endpoint accepts (the same rule as the 428 check).</summary>
    public static bool IsPresent(HttpRequest request) =>
        request.Headers.IfMatch.Count > 0 || request.Headers.IfNoneMatch.Count > 0;
}
