using Idempotency.AspNetCore;
using Idempotency.AspNetCore.Mirroring;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Adds the mirror guard to the pipeline.</summary>
public static class MirrorGuardApplicationBuilderExtensions
{
    /// <summary>
    /// Adds the mirror guard. On a primary it removes spoofed copy markers; on a canary it lets mirror-safe copies run
    /// and suppresses the others with a 403 problem. Call it early, after <c>UseRouting()</c> when you call that
    /// (it needs the endpoint to classify a copy) and before <c>UseIdempotency()</c> (which keeps copies' keys apart).
    /// </summary>
    /// <param name="app">The application builder.</param>
    /// <returns>The same application builder.</returns>
    /// <exception cref="InvalidOperationException">
    /// <c>services.AddMirroring()</c> was not called, or <c>UseIdempotency()</c> was called before it. When
    /// <c>UseRouting()</c> is called after it, the host fails when it builds its pipeline, at start-up.
    /// </exception>
    public static IApplicationBuilder UseMirrorGuard(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        if (app.ApplicationServices.GetService<MirroringMarkerService>() is null)
        {
            throw new InvalidOperationException(
                "Unable to find the mirroring services. Call 'services.AddMirroring()' (or 'builder.Services.AddMirroring()') " +
                "when configuring services, before calling 'app.UseMirrorGuard()'.");
        }

        // After the idempotency middleware, a copy would claim its key before the guard marks it as a copy: in a store
        // shared with the primary, the real client's request would then get 409 or be replayed the canary's answer.
        if (app.Properties.ContainsKey(PipelineOrder.UseIdempotencyCalledKey))
        {
            throw new InvalidOperationException(
                "'app.UseMirrorGuard()' must be called before 'app.UseIdempotency()': after it, a mirrored copy would claim " +
                "the original's Idempotency-Key before the guard could keep it apart. Move 'app.UseMirrorGuard()' up.");
        }

        // Before routing the guard sees no endpoint and classifies copies by their method alone.
        PipelineOrder.RequireRoutingFirst(
            app, "app.UseMirrorGuard()", "cannot see the endpoint's mirror-safety declarations, and a copy of a GET declared .NotMirrorSafe() would run");
        return app.UseMiddleware<MirrorGuardMiddleware>();
    }
}
