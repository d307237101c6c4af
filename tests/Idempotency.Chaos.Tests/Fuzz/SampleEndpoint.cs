using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;

namespace Idempotency.Chaos.Tests.Fuzz;

/// <summary>One endpoint the sample maps, as its routing describes it: what the fuzzer aims at.</summary>
/// <param name="Pattern">The route pattern, such as <c>/accounts/{id:long}/entries</c>.</param>
/// <param name="Methods">The methods it accepts (from <see cref="IHttpMethodMetadata"/>); empty when it accepts any.</param>
/// <param name="BodyType">The type its JSON body binds to (from <see cref="IAcceptsMetadata"/>), or <see langword="null"/> when it reads none.</param>
internal sealed record SampleEndpoint(RoutePattern Pattern, IReadOnlyList<string> Methods, Type? BodyType)
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
                e.Metadata.GetMetadata<IAcceptsMetadata>()?.RequestType))
            .OrderBy(e => e.Pattern.RawText, StringComparer.Ordinal)
            .ThenBy(e => e.Name, StringComparer.Ordinal),
    ];

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
