using Idempotency.AspNetCore.Deduplication;
using Idempotency.AspNetCore;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Adds request deduplication to the pipeline.</summary>
public static class IdempotencyApplicationBuilderExtensions
{
    /// <summary>
    /// Adds the idempotency middleware. Call it after <c>UseRouting()</c>, <c>UseAuthentication()</c> and
    /// <c>UseAuthorization()</c>: it needs the endpoint to find its metadata, and the user to scope keys, and
    /// requests refused by authentication or authorization must not reach the store.
    /// </summary>
    /// <param name="app">The application builder.</param>
    /// <returns>The same application builder.</returns>
    /// <exception cref="InvalidOperationException">
    /// <c>services.AddIdempotency()</c> was not called. When <c>UseRouting()</c> is called after it, the host fails when
    /// it builds its pipeline, at start-up.
    /// </exception>
    public static IApplicationBuilder UseIdempotency(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        if (app.ApplicationServices.GetService<IdempotencyMarkerService>() is null)
        {
            throw new InvalidOperationException(
                "Unable to find the idempotency services. Call 'services.AddIdempotency()' (or 'builder.Services.AddIdempotency()') " +
                "when configuring services, before calling 'app.UseIdempotency()'.");
        }

        // Before routing the middleware sees no endpoint, hence no requirement: every keyed request would run, retries too.
        PipelineOrder.RequireRoutingFirst(
            app, "app.UseIdempotency()", "cannot see which endpoints take an Idempotency-Key, and every keyed request (its retries too) would run unprotected");

        // Lets a later UseMirrorGuard() refuse to start: after this middleware, mirrored copies would claim real keys.
        app.Properties[PipelineOrder.UseIdempotencyCalledKey] = true;
        return app.UseMiddleware<IdempotencyMiddleware>();
    }
}
