using Grpc.AspNetCore.Server;
using Idempotency.AspNetCore.Deduplication;
using Idempotency.Grpc.AspNetCore;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Enables idempotent unary calls on gRPC services hosted by ASP.NET Core.</summary>
public static class GrpcIdempotencyServerBuilderExtensions
{
    /// <summary>
    /// Registers the interceptor that runs each keyed call to a method marked <see cref="RequireIdempotentCallAttribute"/>
    /// once and replays its outcome, with the same store, engine and <see cref="IdempotencyOptions"/> as
    /// <c>services.AddIdempotency()</c> (which it calls: choose the store there). Streaming methods marked for
    /// idempotency fail the host at start-up. Safe to call more than once.
    /// </summary>
    /// <param name="builder">The builder that <c>services.AddGrpc()</c> returned.</param>
    /// <param name="configure">Configures <see cref="IdempotencyOptions"/>; <see langword="null"/> keeps them as they are.</param>
    /// <returns>The same builder.</returns>
    public static IGrpcServerBuilder AddIdempotency(this IGrpcServerBuilder builder, Action<IdempotencyOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddIdempotency(configure);
        if (services.Any(static descriptor => descriptor.ServiceType == typeof(GrpcIdempotencyInterceptor)))
        {
            return builder;
        }

        // A singleton in the container: Grpc.AspNetCore then resolves it instead of creating one per call.
        services.TryAddSingleton<GrpcIdempotencyInterceptor>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IStartupFilter, GrpcIdempotencyStartupFilter>());
        services.Configure<GrpcServiceOptions>(static options => options.Interceptors.Add<GrpcIdempotencyInterceptor>());
        return builder;
    }
}
