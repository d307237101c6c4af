using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Idempotency.AspNetCore.Deduplication;

/// <summary>
/// Fails the host at start-up, before it serves a request, when a gRPC method carries the HTTP middleware's metadata
/// (<c>.RequireIdempotency()</c>, <c>[RequireIdempotency]</c>, <c>[EnableIdempotency]</c>): the middleware would store
/// and replay the call as an HTTP response, and a gRPC response's status travels in HTTP/2 trailers that a replay
/// does not carry, so every retry would see a broken call.
/// </summary>
/// <remarks>
/// gRPC endpoints are recognised by the metadata Grpc.AspNetCore puts on each method's endpoint, matched by its type's
/// name so that this package does not depend on gRPC. The endpoints are complete once the application's pipeline is
/// configured, so the check sees them all before the first call; the request's <c>application/grpc</c> content type
/// would only tell at request time, when the call has already been made.
/// </remarks>
internal sealed class GrpcEndpointStartupFilter : IStartupFilter
{
    internal const string GrpcMethodMetadataTypeName = "Grpc.AspNetCore.Server.GrpcMethodMetadata";

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
        StringBuilder? errors = null;
        foreach (var endpoint in endpoints)
        {
            if (IdempotencyDeclarations.Nearest(endpoint.Metadata) is not { Requirement: not IdempotencyRequirement.Disabled }
                || !IsGrpcMethod(endpoint))
            {
                continue;
            }

            var name = (endpoint as RouteEndpoint)?.RoutePattern.RawText ?? endpoint.DisplayName;
            (errors ??= new StringBuilder())
                .Append("gRPC method '").Append(name)
                .Append("' carries the HTTP middleware's idempotency metadata ([RequireIdempotency], [EnableIdempotency] or .RequireIdempotency()), ")
                .Append("whose replay would lose the call's gRPC trailers and status. Register 'services.AddGrpc().AddIdempotency()' ")
                .Append("(Idempotency.Grpc.AspNetCore) and mark the method with [RequireIdempotentCall] instead, ")
                .AppendLine("or exclude the gRPC service from the convention with .DisableIdempotency().");
        }

        if (errors is not null)
        {
            throw new InvalidOperationException(errors.ToString().TrimEnd());
        }
    }

    private static bool IsGrpcMethod(Endpoint endpoint)
    {
        foreach (var item in endpoint.Metadata)
        {
            if (item.GetType().FullName == GrpcMethodMetadataTypeName)
            {
                return true;
            }
        }

        return false;
    }
}
