using Idempotency.AspNetCore.Deduplication;
using Idempotency.AspNetCore.Mirroring;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the mirror guard: recognising mirrored copies (shadow traffic) and keeping a canary from doing harm.</summary>
public static class MirroringServiceCollectionExtensions
{
    /// <summary>
    /// Registers the services of <c>app.UseMirrorGuard()</c> and <c>MapMirrorSafetyReport()</c>. Options are validated
    /// when the host starts. Without configuration the instance is a <see cref="MirrorRole.Primary"/>. Safe to call more
    /// than once.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Configures <see cref="MirroringOptions"/>; <see langword="null"/> keeps the defaults.</param>
    /// <returns>The same service collection.</returns>
    public static IServiceCollection AddMirroring(this IServiceCollection services, Action<MirroringOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<MirroringOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MirroringOptions>, MirroringOptionsValidator>());
        if (configure is not null)
        {
            services.Configure(configure);
        }

        services.AddMirroringCore();
        services.TryAddSingleton<MirroringMarkerService>();
        return services;
    }

    /// <summary>What the guard and the outbound handler share; the outbound handler works without <c>AddMirroring()</c>.</summary>
    internal static IServiceCollection AddMirroringCore(this IServiceCollection services)
    {
        services.AddOptions();
        services.AddMetrics();
        services.TryAddSingleton<MirrorMetrics>();
        services.TryAddSingleton<IdempotencyProblemWriter>();
        services.TryAddSingleton<MirrorProblemWriter>();
        return services;
    }
}
