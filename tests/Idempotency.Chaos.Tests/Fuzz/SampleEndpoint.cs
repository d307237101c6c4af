using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;

namespace Idempotency.Chaos.Tests.Fuzz;

/// <summary>One endpoint the sample maps, as its routing describes it: what the fuzzer aims at.</summary>
/// <param name="Pattern">The route pattern, such as <c>/accounts/{id:long}/entries</c>.</param>
/// <param name="Methods">The methods it accepts (from <see cref="IHttpMethodMetadata"/>); empty when it accepts any.</param>
/// <param name="BodyType">The type its JSON body binds to (from <see cref="IAcceptsMetadata"/>), or <see langword="null"/> when it reads none.</param>
/// <param name="IsGrpc">
/// Whether it is one of the gRPC service's endpoints (a method, or Grpc.AspNetCore's "unimplemented" catch-alls). The
/// fuzzer's HTTP/1.1 requests are never gRPC calls, so none reaches such a handler; they are still sent, and must still
/// never get a 5xx nor leave a key behind.
/// </param>
internal sealed record SampleEndpoint(RoutePattern Pattern, IReadOnlyList<string> Methods, Type? BodyType, bool IsGrpc)
{
    /// <summary>Gets the endpoint's name in reports: its methods and pattern.</summary>
    public string Name => $"{(Methods.Count == 0 ? "*" : string.Join("|", Methods))} {Pattern.RawText}";

    /// <summary>
    /// Reads every route endpoint of the app, so that an endpoint added to the sample is fuzzed without anyone editing
    /// the fuzzer. An endpoint that has several methods stays one entry.
    /// </summary>
    public static IReadOnlyList<SampleEndpoint> Discover(EndpointDataSource endpoints) =>
    [
        .. endpoints.Endpoints
            .OfType<RouteEndpoint>()
            .Select(e => new SampleEndpoint(
                e.RoutePattern,
                e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods.ToArray() ?? [],
                e.Metadata.GetMetadata<IAcceptsMetadata>()?.RequestType,
                IsGrpcEndpoint(e)))
            .OrderBy(e => e.Pattern.RawText, StringComparer.Ordinal)
            .ThenBy(e => e.Name, StringComparer.Ordinal),
    ];

    // A gRPC method carries Grpc.AspNetCore's metadata; the catch-alls that answer UNIMPLEMENTED carry its route constraint.
    private static bool IsGrpcEndpoint(RouteEndpoint endpoint) =>
        endpoint.Metadata.GetMetadata<global::Grpc.AspNetCore.Server.GrpcMethodMetadata>() is not null
        || endpoint.RoutePattern.Parameters.Any(p => p.ParameterPolicies.Any(policy => policy.Content == "grpcunimplemented"));

    /// <summary>
    /// Writes a path for the pattern, each parameter filled by <paramref name="value"/> (given the parameter's name and
    /// whether its constraints want a number), already escaped as a client would send it.
    /// </summary>
    public string Path(Func<RoutePatternParameterPart, bool, string> value)
    {
        var path = new System.Text.StringBuilder();
        foreach (var segment in Pattern.PathSegments)
        {
            path.Append('/');
            foreach (var part in segment.Parts)
            {
                switch (part)
                {
                    case RoutePatternLiteralPart literal:
                        path.Append(literal.Content);
                        break;
                    case RoutePatternSeparatorPart separator:
                        path.Append(separator.Content);
                        break;
                    case RoutePatternParameterPart parameter:
                        var numeric = parameter.ParameterPolicies.Any(p => p.Content is "long" or "int");
                        path.Append(value(parameter, numeric));
                        break;
                }
            }
        }

        return path.Length == 0 ? "/" : path.ToString();
    }
}
