using Idempotency.AspNetCore.Mirroring;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Keeps a canary's outgoing calls from applying the effects of mirrored copies.</summary>
public static class ShadowPropagationHttpClientBuilderExtensions
{
    /// <summary>
    /// Adds a handler to the client that, while a canary handles a mirrored copy, adds the copy marker
    /// (<see cref="MirroringOptions.HeaderName"/>) to every outgoing call and throws
    /// <see cref="ShadowCallBlockedException"/> for unsafe ones (POST, PUT, PATCH, DELETE, ...) unless
    /// <see cref="ShadowPropagationOptions.AllowUnsafeMethods"/> is set for this client. On a primary it does nothing.
    /// </summary>
    /// <param name="builder">The client builder.</param>
    /// <param name="configure">Configures this client's <see cref="ShadowPropagationOptions"/>; <see langword="null"/> keeps the defaults.</param>
    /// <returns>The same client builder.</returns>
    public static IHttpClientBuilder AddShadowPropagation(this IHttpClientBuilder builder, Action<ShadowPropagationOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddMirroringCore();
        var name = builder.Name;
        if (configure is not null)
        {
            builder.Services.Configure(name, configure);
        }

        return builder.AddHttpMessageHandler(services => new ShadowPropagationHandler(
            name,
            services.GetRequiredService<IOptionsMonitor<ShadowPropagationOptions>>().Get(name),
            services.GetRequiredService<IOptions<MirroringOptions>>().Value,
            services.GetRequiredService<MirrorMetrics>(),
            services.GetRequiredService<ILogger<ShadowPropagationHandler>>()));
    }
}
