using System.Text.Json;
using Idempotency.AspNetCore.Mirroring.ProxyConfiguration;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.AspNetCore.Routing.Template;

namespace Idempotency.AspNetCore.Mirroring;

/// <summary>
/// Which of a service's endpoints may be mirrored to a canary, with shared or isolated data, and proxy configurations
/// that mirror only those (<see cref="ToIstioHttpRoutes"/>, <see cref="ToNginxConfig"/>). Serve it with
/// <c>app.MapMirrorSafetyReport("/mirror-safety")</c>, or build it from code with <see cref="Create(EndpointDataSource)"/>.
/// </summary>
public sealed class MirrorSafetyReport
{
    private MirrorSafetyReport(IReadOnlyList<MirrorSafetyReportEntry> endpoints) => Endpoints = endpoints;

    /// <summary>
    /// Gets one entry per endpoint (split by method where methods differ in class), in ASP.NET Core's matching order:
    /// more specific routes first, as proxies that take the first match need them.
    /// </summary>
    public IReadOnlyList<MirrorSafetyReportEntry> Endpoints { get; }

    /// <summary>Builds the report from every route endpoint of the application (<c>app.Services.GetRequiredService&lt;EndpointDataSource&gt;()</c>).</summary>
    /// <param name="dataSource">The application's endpoints.</param>
    /// <returns>The report.</returns>
    public static MirrorSafetyReport Create(EndpointDataSource dataSource)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        return Create(dataSource.Endpoints);
    }

    /// <summary>Builds the report from the given endpoints; endpoints without a route pattern are left out.</summary>
    /// <param name="endpoints">The endpoints.</param>
    /// <returns>The report.</returns>
    public static MirrorSafetyReport Create(IEnumerable<Endpoint> endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var routes = new List<(RouteEndpoint Endpoint, decimal Precedence, string Route)>();
        foreach (var endpoint in endpoints)
        {
            if (endpoint is RouteEndpoint route && route.Metadata.GetMetadata<ISuppressMatchingMetadata>()?.SuppressMatching != true)
            {
                routes.Add((route, RoutePrecedence.ComputeInbound(new RouteTemplate(route.RoutePattern)), RouteText(route.RoutePattern)));
            }
        }

        // The order ASP.NET Core's matcher prefers: explicit Order, then precedence (literals before parameters).
        routes.Sort(static (a, b) =>
        {
            var order = a.Endpoint.Order.CompareTo(b.Endpoint.Order);
            if (order != 0)
            {
                return order;
            }

            var precedence = a.Precedence.CompareTo(b.Precedence);
            return precedence != 0 ? precedence : string.CompareOrdinal(a.Route, b.Route);
        });

        var entries = new List<MirrorSafetyReportEntry>();
        foreach (var (endpoint, _, route) in routes)
        {
            var methods = endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods;
            if (methods is null || methods.Count == 0)
            {
                methods = [MirrorSafety.AnyMethod];
            }

            // One entry per class, so a GET+POST endpoint reports its safe and its unsafe side apart.
            foreach (var group in methods.GroupBy(method => MirrorSafetyClassifier.Classify(endpoint.Metadata, method, facts: null)))
            {
                entries.Add(new MirrorSafetyReportEntry(endpoint.RoutePattern, route, endpoint.DisplayName, [.. group], group.Key));
            }
        }

        return new MirrorSafetyReport(entries);
    }

    /// <summary>Writes the report as JSON: <c>{"endpoints":[{"methods":[...],"route":...,"class":...,...}]}</c>.</summary>
    /// <returns>The JSON text.</returns>
    public string ToJson() => JsonSerializer.Serialize(new MirrorSafetyReportDocument(Endpoints), MirrorSafetyReportJsonContext.Relaxed.MirrorSafetyReportDocument);

    /// <summary>
    /// Writes the <c>http</c> route list of an Istio <c>VirtualService</c> that mirrors to the canary only the
    /// requests that are mirrorable for <see cref="MirrorProxyConfigOptions.Data"/>, and never a request that already
    /// carries the marker (mirror loops).
    /// </summary>
    /// <param name="options">Destinations, data mode and header names; <see langword="null"/> keeps the defaults.</param>
    /// <returns>YAML to paste under <c>spec:</c> of the primary's <c>VirtualService</c>.</returns>
    public string ToIstioHttpRoutes(MirrorProxyConfigOptions? options = null) =>
        IstioRoutesWriter.Write(this, MirrorProxyConfigOptions.Validated(options));

    /// <summary>
    /// Writes an nginx configuration that mirrors to the canary only the requests that are mirrorable for
    /// <see cref="MirrorProxyConfigOptions.Data"/>, and never a request that already carries the marker (mirror loops):
    /// <see cref="ToNginxHttpSnippet"/> followed by <see cref="ToNginxServerSnippet"/>.
    /// </summary>
    /// <param name="options">Upstreams, data mode and header names; <see langword="null"/> keeps the defaults.</param>
    /// <returns>The configuration, with comments saying where each part goes.</returns>
    public string ToNginxConfig(MirrorProxyConfigOptions? options = null)
    {
        var validated = MirrorProxyConfigOptions.Validated(options);
        return NginxConfigWriter.WriteHttp(this, validated) + "\n" + NginxConfigWriter.WriteServer(validated);
    }

    /// <summary>Writes the part of <see cref="ToNginxConfig"/> for the <c>http { }</c> block: the <c>map</c>s that decide what to mirror.</summary>
    /// <param name="options">Data mode and header names; <see langword="null"/> keeps the defaults.</param>
    /// <returns>The <c>http</c>-level snippet.</returns>
    public string ToNginxHttpSnippet(MirrorProxyConfigOptions? options = null) =>
        NginxConfigWriter.WriteHttp(this, MirrorProxyConfigOptions.Validated(options));

    /// <summary>Writes the part of <see cref="ToNginxConfig"/> for the primary's <c>server { }</c> block: the proxying and mirror locations.</summary>
    /// <param name="options">Upstreams and marker; <see langword="null"/> keeps the defaults.</param>
    /// <returns>The <c>server</c>-level snippet.</returns>
    public string ToNginxServerSnippet(MirrorProxyConfigOptions? options = null) =>
        NginxConfigWriter.WriteServer(MirrorProxyConfigOptions.Validated(options));

    private static string RouteText(RoutePattern pattern)
    {
        var raw = pattern.RawText ?? string.Empty;
        return raw.StartsWith('/') ? raw : "/" + raw.TrimStart('~', '/');
    }
}
