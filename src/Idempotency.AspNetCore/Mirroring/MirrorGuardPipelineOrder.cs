namespace Idempotency.AspNetCore.Mirroring;

/// <summary>
/// The <c>IApplicationBuilder.Properties</c> keys by which <c>UseMirrorGuard()</c> finds out where it stands in the
/// pipeline: in the wrong place it would fail open, so it refuses to start there instead.
/// </summary>
internal static class MirrorGuardPipelineOrder
{
    /// <summary>
    /// Set by ASP.NET Core's <c>UseRouting()</c> (<c>EndpointRoutingApplicationBuilderExtensions.EndpointRouteBuilder</c>),
    /// on the builder it was called on. WebApplication's implicit routing, which runs before every middleware, does not
    /// set it on the application's builder.
    /// </summary>
    public const string UseRoutingCalledKey = "__EndpointRouteBuilder";

    /// <summary>Set by <c>UseIdempotency()</c>, so that a later <c>UseMirrorGuard()</c> can refuse to run after it.</summary>
    public const string UseIdempotencyCalledKey = "Idempotency.AspNetCore.UseIdempotencyCalled";
}
