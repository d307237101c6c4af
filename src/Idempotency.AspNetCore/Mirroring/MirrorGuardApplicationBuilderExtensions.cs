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
    /// <exception cref="InvalidOperationException"><c>services.AddMirroring()</c> was not called.</exception>
    public static IApplicationBuilder UseMirrorGuard(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        if (app.ApplicationServices.GetService<MirroringMarkerService>() is null)
        {
            throw new InvalidOperationException(
                "Unable to find the mirroring services. Call 'services.AddMirroring()' (or 'builder.Services.AddMirroring()') " +
                "when configuring services, before calling 'app.UseMirrorGuard()'.");
        }

        return app.UseMiddleware<MirrorGuardMiddleware>();
    }
}
