using System.Text;
using Grpc.AspNetCore.Server;
using Grpc.Core;
using Idempotency.AspNetCore.Deduplication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Idempotency.Grpc.AspNetCore;

/// <summary>
/// Fails the host at start-up, before it serves a call, for gRPC endpoints that idempotency cannot protect: streaming
/// methods marked <see cref="RequireIdempotentCallAttribute"/>, and gRPC methods that carry the HTTP middleware's
/// metadata (<c>[RequireIdempotency]</c>, <c>.RequireIdempotency()</c>), whose replay would lose the gRPC trailers.
/// </summary>
internal sealed class GrpcIdempotencyStartupFilter : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        next(app);

        // The routes are mapped by now: the application's pipeline, endpoints included, is what next configured.
        if (app.ApplicationServices.GetService<EndpointDataSource>() is { } endpoints)
        {
            Validate(endpoints.Endpoints);
        }
    };

    internal static void Validate(IReadOnlyList<Endpoint> endpoints)
    {
        var errors = new StringBuilder();
        foreach (var endpoint in endpoints)
        {
            if (endpoint.Metadata.GetMetadata<GrpcMethodMetadata>() is not { } grpc)
            {
                continue;
            }

            var method = grpc.Method;
            if (endpoint.Metadata.GetMetadata<RequireIdempotentCallAttribute>() is not null && method.Type != MethodType.Unary)
            {
                errors.Append("gRPC method '").Append(method.FullName).Append("' is ").Append(Describe(method.Type))
                    .Append(" and requires idempotency ([RequireIdempotentCall] on the method or its service class), which only unary methods support: ")
                    .AppendLine("a stream cannot be replayed as one stored response. Remove the attribute from it, or move it from the class to its unary methods.");
            }

            if (endpoint.Metadata.GetMetadata<IIdempotencyMetadata>() is { Requirement: not IdempotencyRequirement.Disabled })
            {
                errors.Append("gRPC method '").Append(method.FullName)
                    .Append("' carries the HTTP middleware's idempotency metadata ([RequireIdempotency], [EnableIdempotency] or .RequireIdempotency()), ")
                    .AppendLine("whose replay would lose the call's gRPC trailers and status. Mark the method with [RequireIdempotentCall] (Idempotency.Grpc.AspNetCore) instead.");
            }
        }

        if (errors.Length > 0)
        {
            throw new InvalidOperationException(errors.ToString().TrimEnd());
        }
    }

    private static string Describe(MethodType type) => type switch
    {
        MethodType.ClientStreaming => "a client-streaming method",
        MethodType.ServerStreaming => "a server-streaming method",
        _ => "a bidirectional streaming method",
    };
}
