using System.Diagnostics.CodeAnalysis;
using Idempotency;
using Idempotency.AspNetCore.Deduplication;
using Idempotency.AspNetCore.Mirroring;
using Idempotency.AspNetCore.Mirroring.ProxyConfiguration;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Serves the mirror-safety report, and the proxy configurations built from it, to operators.</summary>
public static class MirrorSafetyReportEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps a GET endpoint that describes which endpoints may be mirrored to a canary: JSON by default,
    /// <c>?format=istio</c> for an Istio <c>VirtualService</c> route list, <c>?format=nginx</c> for an nginx
    /// configuration, each mirroring only mirrorable routes; <c>&amp;data=isolated</c> (or <c>shared</c>) picks the data
    /// mode, which defaults to <see cref="MirroringOptions.Data"/>. The report lists every route: protect it like any
    /// operator endpoint (<c>.RequireAuthorization(...)</c> on the returned builder).
    /// </summary>
    /// <param name="endpoints">The endpoint route builder.</param>
    /// <param name="pattern">The route pattern, such as <c>/mirror-safety</c>.</param>
    /// <param name="configureExport">
    /// Sets the destinations and marker value of the exported configurations; the data mode and header names are taken
    /// from <see cref="MirroringOptions"/> and <see cref="IdempotencyOptions"/> first. The configured secret is never
    /// exported.
    /// </param>
    /// <returns>The endpoint's convention builder.</returns>
    public static IEndpointConventionBuilder MapMirrorSafetyReport(
        this IEndpointRouteBuilder endpoints,
        [StringSyntax("Route")] string pattern,
        Action<MirrorProxyConfigOptions>? configureExport = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(pattern);
        var builder = endpoints.MapGet(pattern, context => ServeAsync(context, configureExport));
        builder.WithDisplayName("Mirror safety report").ExcludeFromDescription();
        return builder;
    }

    private static Task ServeAsync(HttpContext context, Action<MirrorProxyConfigOptions>? configureExport)
    {
        var services = context.RequestServices;
        var mirroring = services.GetService<IOptions<MirroringOptions>>()?.Value ?? new MirroringOptions();
        var export = new MirrorProxyConfigOptions
        {
            Data = mirroring.Data,
            MarkerHeaderName = mirroring.HeaderName,
            IdempotencyKeyHeaderName = services.GetService<IOptions<IdempotencyOptions>>()?.Value.HeaderName ?? IdempotencyDefaults.HeaderName,
        };
        configureExport?.Invoke(export);

        var query = context.Request.Query;
        var data = query["data"].ToString();
        if (data.Length > 0)
        {
            if (!Enum.TryParse<MirrorDataMode>(data, ignoreCase: true, out var mode) || !Enum.IsDefined(mode))
            {
                return BadRequestAsync(context, $"Unknown data mode '{data}': use 'shared' or 'isolated'.");
            }

            export.Data = mode;
        }

        var report = MirrorSafetyReport.Create(services.GetRequiredService<EndpointDataSource>());
        var format = query["format"].ToString();
        return format.ToUpperInvariant() switch
        {
            "" or "JSON" => WriteAsync(context, report.ToJson(), "application/json; charset=utf-8"),
            "ISTIO" => WriteAsync(context, report.ToIstioHttpRoutes(export), "application/yaml; charset=utf-8"),
            "NGINX" => WriteAsync(context, report.ToNginxConfig(export), "text/plain; charset=utf-8"),
            _ => BadRequestAsync(context, $"Unknown format '{format}': use 'json', 'istio' or 'nginx'."),
        };
    }

    private static Task WriteAsync(HttpContext context, string body, string contentType)
    {
        context.Response.ContentType = contentType;
        return context.Response.WriteAsync(body, context.RequestAborted);
    }

    private static Task BadRequestAsync(HttpContext context, string detail) =>
        Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Invalid mirror safety report request", detail: detail).ExecuteAsync(context);
}
