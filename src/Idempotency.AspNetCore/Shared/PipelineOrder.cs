using Microsoft.AspNetCore.Builder;

namespace Idempotency.AspNetCore;

/// <summary>
/// Where the library's middleware stands in the pipeline, read from <see cref="IApplicationBuilder.Properties"/>: in
/// the wrong place each would fail open (see each use), so it refuses to start there instead.
/// </summary>
internal static class PipelineOrder
{
    /// <summary>
    /// Set by ASP.NET Core's <c>UseRouting()</c> (<c>EndpointRoutingApplicationBuilderExtensions.EndpointRouteBuilder</c>),
    /// on the builder it was called on. WebApplication's implicit routing, which runs before every middleware, does not
    /// set it on the application's builder.
    /// </summary>
    public const string UseRoutingCalledKey = "__EndpointRouteBuilder";

    /// <summary>Set by <c>UseIdempotency()</c>, so that a later <c>UseMirrorGuard()</c> can refuse to run after it.</summary>
    public const string UseIdempotencyCalledKey = "Idempotency.AspNetCore.UseIdempotencyCalled";

    /// <summary>
    /// Makes building the pipeline (at start-up) throw if <c>UseRouting()</c> is called after the middleware being added
    /// now: before routing a middleware sees no endpoint, so none of the endpoint's declarations. Whether
    /// <c>UseRouting()</c> comes later is only known when the pipeline is built.
    /// </summary>
    /// <param name="app">The application builder the middleware is being added to.</param>
    /// <param name="call">The call that adds it, as the developer wrote it: <c>app.UseIdempotency()</c>.</param>
    /// <param name="failsOpenBy">What it would do before routing, to complete "before routing it …".</param>
    public static void RequireRoutingFirst(IApplicationBuilder app, string call, string failsOpenBy)
    {
        var routedBefore = app.Properties.ContainsKey(UseRoutingCalledKey);
        app.Use(next =>
        {
            if (!routedBefore && app.Properties.ContainsKey(UseRoutingCalledKey))
            {
                throw new InvalidOperationException(
                    $"'{call}' must be called after 'app.UseRouting()': before routing it {failsOpenBy}. Move '{call}' after " +
                    "'app.UseRouting()', or remove the explicit 'app.UseRouting()' call (WebApplication then routes first).");
            }

            return next;
        });
    }
}
