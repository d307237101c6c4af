using Microsoft.AspNetCore.Http;

namespace Idempotency.AspNetCore;

/// <summary>
/// ADAPTER POINT between the mirror classifier and the conditional-request feature (issue 4): the one place that
/// knows how an endpoint declares that it requires a precondition, and which request headers satisfy it.
/// </summary>
/// <remarks>
/// Until <c>.RequirePrecondition()</c> lands on main, endpoints declare it with the internal stand-in below. When it
/// lands: make <see cref="IsRequired"/> look for <c>IPreconditionMetadata</c> (Preconditions/IPreconditionMetadata.cs
/// on the conditional branch), delete <see cref="IPreconditionRequirementMetadata"/>, and make the tests' stand-in
/// (tests/.../Mirroring/PreconditionRequired.cs) use <c>.RequirePrecondition()</c>. The header rule below already
/// matches that feature's 428 rule (an unsafe request needs <c>If-Match</c> or <c>If-None-Match</c>).
/// </remarks>
internal static class PreconditionRequirement
{
    /// <summary>Whether the endpoint refuses writes that carry no precondition (428 Precondition Required).</summary>
    public static bool IsRequired(EndpointMetadataCollection metadata) =>
        metadata.GetMetadata<IPreconditionRequirementMetadata>() is not null;

    /// <summary>Whether the request carries a precondition that a conditional endpoint accepts.</summary>
    public static bool IsPresent(HttpRequest request) =>
        request.Headers.IfMatch.Count > 0 || request.Headers.IfNoneMatch.Count > 0;
}

/// <summary>Stand-in for the conditional feature's endpoint metadata until it lands; see <see cref="PreconditionRequirement"/>.</summary>
internal interface IPreconditionRequirementMetadata;
