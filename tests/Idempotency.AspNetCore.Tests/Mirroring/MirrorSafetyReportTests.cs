using System.Net;
using System.Text.Json;
using Idempotency.AspNetCore.Mirroring;
using Idempotency.AspNetCore.Mirroring.ProxyConfiguration;
using Idempotency.AspNetCore.Tests.Mirroring.ProxyConfiguration;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Idempotency.AspNetCore.Tests.Mirroring;

public sealed class MirrorSafetyReportTests
{
    [Fact]
    public async Task TheReportEndpoint_ListsEveryEndpoint_WithItsClassReasonAndMirrorability()
    {
        await using var app = await StartAsync();

        var response = await app.Client.GetAsync("/mirror-safety");

        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var entries = await EntriesAsync(response);
        AssertEntry(entries, "GET", "/items/{id:int}", "Safe", "SafeMethod", "None", shared: true, isolated: true);
        AssertEntry(entries, "POST", "/payments", "Deduplicated", "IdempotencyKeyRequired", "IdempotencyKey", shared: false, isolated: true);
        AssertEntry(entries, "PUT", "/items/{id:int}", "Idempotent", "IdempotentMethod", "None", shared: false, isolated: true);
        AssertEntry(entries, "POST", "/entries", "Conditional", "PreconditionRequired", "Precondition", shared: false, isolated: true);
        AssertEntry(entries, "POST", "/emails", "Unsafe", "UnsafeMethod", "None", shared: false, isolated: false);
        AssertEntry(entries, "POST", "/search", "Safe", "MarkedMirrorSafe", "None", shared: true, isolated: true);
        AssertEntry(entries, "GET", "/mirror-safety", "Safe", "SafeMethod", "None", shared: true, isolated: true);
        Assert.All(entries, e => Assert.False(string.IsNullOrWhiteSpace(e.GetProperty("description").GetString())));
    }

    [Fact]
    public void AnEndpointWhoseMethodsDifferInClass_IsReportedOncePerClass()
    {
        var report = Report(e => e.MapMethods("/multi", ["GET", "HEAD", "POST"], () => "x"));

        var entries = report.Endpoints.Where(e => e.Route == "/multi").ToArray();

        Assert.Equal(2, entries.Length);
        Assert.Equal(["GET", "HEAD"], entries.Single(e => e.Class == MirrorSafetyClass.Safe).Methods);
        Assert.Equal(["POST"], entries.Single(e => e.Class == MirrorSafetyClass.Unsafe).Methods);
    }

    [Fact]
    public void AnEndpointAcceptingAnyMethod_IsReportedWithTheWildcardMethod()
    {
        var report = Report(e => e.Map("/any", () => "x"));

        var entry = Assert.Single(report.Endpoints);

        Assert.Equal([MirrorSafety.AnyMethod], entry.Methods);
        Assert.Equal((MirrorSafetyClass.Unsafe, MirrorSafetyReason.AnyMethod), (entry.Class, entry.Reason));
    }

    [Fact]
    public void Endpoints_AreInMatchingOrder_LiteralsBeforeParameters()
    {
        var report = Report(e =>
        {
            e.MapPost("/items/{id}", () => "x").RequireIdempotency();
            e.MapPost("/items/special", () => "x");
            e.MapGet("/{**path}", () => "x");
        });

        Assert.Equal(["/items/special", "/items/{id}", "/{**path}"], report.Endpoints.Select(e => e.Route));
    }

    [Fact]
    public void TheJsonFromCode_IsTheJsonOfTheEndpoint()
    {
        var report = Report(e => e.MapPost("/payments", () => "x").RequireIdempotency());

        var text = report.ToJson();
        using var json = JsonDocument.Parse(text);

        Assert.Contains("the original's.", text, StringComparison.Ordinal);

        var entry = Assert.Single(json.RootElement.GetProperty("endpoints").EnumerateArray());
        Assert.Equal("Deduplicated", entry.GetProperty("class").GetString());
        Assert.Equal("/payments", entry.GetProperty("route").GetString());
        Assert.False(entry.TryGetProperty("classification", out _));
        Assert.False(entry.TryGetProperty("pattern", out _));
    }

    [Fact]
    public void TheIstioExport_WithSharedData_MirrorsOnlySafeRoutes_AndNeverACopy()
    {
        var yaml = Report(MapSample).ToIstioHttpRoutes(new MirrorProxyConfigOptions { Primary = "orders", Canary = "orders-canary" });

        var mirrored = Routes(yaml).Where(r => r.Contains("  mirror:\n", StringComparison.Ordinal)).ToArray();
        Assert.Equal(2, mirrored.Length);
        Assert.Contains(mirrored, r => r.Contains("exact: GET", StringComparison.Ordinal) && r.Contains("regex: '(?i)^/items/-?[0-9]+/?$'", StringComparison.Ordinal));
        Assert.Contains(mirrored, r => r.Contains("exact: POST", StringComparison.Ordinal) && r.Contains("regex: '(?i)^/search/?$'", StringComparison.Ordinal));
        Assert.All(mirrored, r =>
        {
            Assert.Contains("    withoutHeaders:\n      x-shadow-request:\n        regex: '.*'\n", r, StringComparison.Ordinal);
            Assert.Contains("    host: orders-canary\n", r, StringComparison.Ordinal);
            Assert.Contains("      host: orders\n", r, StringComparison.Ordinal);
        });
        Assert.Contains("Never mirror a request that already carries X-Shadow-Request", yaml, StringComparison.Ordinal);
        Assert.Contains("mirror loop", yaml, StringComparison.Ordinal);
        Assert.EndsWith("- name: primary-default\n  route:\n  - destination:\n      host: orders\n", yaml, StringComparison.Ordinal);
        Assert.DoesNotContain("\t", yaml, StringComparison.Ordinal);
    }

    [Fact]
    public void TheIstioExport_WithIsolatedData_MirrorsAllButUnsafe_KeyedAndConditionalRoutesOnlyWithTheirHeaders()
    {
        var yaml = Report(MapSample).ToIstioHttpRoutes(new MirrorProxyConfigOptions { Data = MirrorDataMode.Isolated, IdempotencyKeyHeaderName = "X-Request-Key" });

        var routes = Routes(yaml);
        var mirrored = routes.Where(r => r.Contains("  mirror:\n", StringComparison.Ordinal)).ToArray();
        Assert.Equal(5, mirrored.Length);
        var payments = Assert.Single(mirrored, r => r.Contains("^/payments/?$", StringComparison.Ordinal));
        Assert.Contains("    headers:\n      x-request-key:\n        regex: '.+'\n", payments, StringComparison.Ordinal);
        var entries = Assert.Single(mirrored, r => r.Contains("^/entries/?$", StringComparison.Ordinal));
        Assert.Contains("      if-match:\n", entries, StringComparison.Ordinal);
        Assert.Contains("      if-none-match:\n", entries, StringComparison.Ordinal);

        // Without the key a request stops at the route after the mirrored one, which has no mirror.
        var paymentsIndex = Array.IndexOf(routes, payments);
        Assert.Contains("^/payments/?$", routes[paymentsIndex + 1], StringComparison.Ordinal);
        Assert.DoesNotContain("mirror:", routes[paymentsIndex + 1], StringComparison.Ordinal);
        Assert.DoesNotContain(mirrored, r => r.Contains("^/emails/?$", StringComparison.Ordinal));
    }

    [Fact]
    public void TheNginxExport_MapsEachRouteToWhetherItIsMirrored_AndNeverMirrorsACopy()
    {
        var config = Report(MapSample).ToNginxConfig(new MirrorProxyConfigOptions { Data = MirrorDataMode.Isolated, MarkerValue = "abc123" });

        Assert.Contains("\"~*^(?:GET) /items/-?[0-9]+/?$\" 1;", config, StringComparison.Ordinal);
        Assert.Contains("\"~*^(?:POST) /payments/?$\" k;", config, StringComparison.Ordinal);
        Assert.Contains("\"~*^(?:PUT) /items/-?[0-9]+/?$\" 1;", config, StringComparison.Ordinal);
        Assert.Contains("\"~*^(?:POST) /entries/?$\" p;", config, StringComparison.Ordinal);
        Assert.Contains("\"~*^(?:POST) /emails/?$\" 0;", config, StringComparison.Ordinal);
        Assert.Contains("map $http_x_shadow_request $idempotency_mirror_unmarked", config, StringComparison.Ordinal);
        Assert.Contains("Never mirror a request that already carries X-Shadow-Request: it is a copy already (mirror loop)", config, StringComparison.Ordinal);
        Assert.Contains("proxy_set_header X-Shadow-Request \"abc123\";", config, StringComparison.Ordinal);
        Assert.Contains("proxy_pass http://canary$request_uri;", config, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(MirrorDataMode.Shared)]
    [InlineData(MirrorDataMode.Isolated)]
    public async Task TheNginxExport_IsAcceptedByRealNginx(MirrorDataMode data)
    {
        var report = Report(e =>
        {
            MapSample(e);
            e.MapGet("/reports/summary.json", () => "x");
            e.MapGet("/files/{**path}", () => "x");
            e.MapPost("/download/{name}.{ext?}", () => "x").IdempotentByDesign();
            e.Map("/any", () => "x");
        });
        var options = new MirrorProxyConfigOptions { Data = data, Primary = "127.0.0.1:9", Canary = "127.0.0.1:10", MarkerValue = "s3cr3t" };
        var http = report.ToNginxHttpSnippet(options) + "server {\n    listen 127.0.0.1:9;\n" + report.ToNginxServerSnippet(options) + "}\n";

        var (exitCode, output) = await NginxProcess.TestConfigAsync(http);

        Assert.True(exitCode == 0, output);
        Assert.Contains("test is successful", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("istio", "application/yaml", "http:\n")]
    [InlineData("ISTIO", "application/yaml", "http:\n")]
    [InlineData("nginx", "text/plain", "map \"$request_method $uri\" $idempotency_mirror_route {")]
    public async Task TheReportEndpoint_ServesTheExports(string format, string mediaType, string expected)
    {
        await using var app = await StartAsync();

        var response = await app.Client.GetAsync($"/mirror-safety?format={format}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(mediaType, response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(expected, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheReportEndpoint_ExportsForTheConfiguredDataMode_UnlessTheQueryPicksAnother()
    {
        await using var app = await StartAsync(o => o.Data = MirrorDataMode.Isolated);

        var configured = await app.Client.GetStringAsync("/mirror-safety?format=nginx");
        var shared = await app.Client.GetStringAsync("/mirror-safety?format=nginx&data=shared");

        Assert.Contains("/payments/?$\" k;", configured, StringComparison.Ordinal);
        Assert.Contains("/payments/?$\" 0;", shared, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheReportEndpoint_UsesTheConfiguredHeaderNames_ButNeverTheSecret()
    {
        await using var app = await StartAsync(
            o =>
            {
                o.HeaderName = "X-Mirror";
                o.Secret = "never-leave-this-instance";
            },
            export => export.Canary = "orders-v2");

        var nginx = await app.Client.GetStringAsync("/mirror-safety?format=nginx");
        var istio = await app.Client.GetStringAsync("/mirror-safety?format=istio");

        Assert.Contains("proxy_set_header X-Mirror \"1\";", nginx, StringComparison.Ordinal);
        Assert.Contains("proxy_pass http://orders-v2$request_uri;", nginx, StringComparison.Ordinal);
        Assert.Contains("x-mirror:", istio, StringComparison.Ordinal);
        Assert.DoesNotContain("never-leave-this-instance", nginx + istio, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("?format=yaml", "Unknown format 'yaml'")]
    [InlineData("?format=nginx&data=everything", "Unknown data mode 'everything'")]
    [InlineData("?format=nginx&data=7", "Unknown data mode '7'")]
    public async Task TheReportEndpoint_AnswersABadQueryWith400(string query, string detail)
    {
        await using var app = await StartAsync();

        var response = await app.Client.GetAsync("/mirror-safety" + query);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(detail, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(nameof(MirrorProxyConfigOptions.Primary), "primary; evil")]
    [InlineData(nameof(MirrorProxyConfigOptions.Canary), "canary\n}")]
    [InlineData(nameof(MirrorProxyConfigOptions.MarkerHeaderName), "X Shadow")]
    [InlineData(nameof(MirrorProxyConfigOptions.MarkerValue), "a\"b")]
    [InlineData(nameof(MirrorProxyConfigOptions.MarkerValue), "$secret")]
    [InlineData(nameof(MirrorProxyConfigOptions.IdempotencyKeyHeaderName), "")]
    public void ExportOptionsThatCouldBreakOutOfTheConfiguration_AreRefused(string option, string value)
    {
        var options = new MirrorProxyConfigOptions();
        typeof(MirrorProxyConfigOptions).GetProperty(option)!.SetValue(options, value);
        var report = Report(MapSample);

        var nginx = Assert.Throws<ArgumentException>(() => report.ToNginxConfig(options));
        var istio = Assert.Throws<ArgumentException>(() => report.ToIstioHttpRoutes(options));

        Assert.Contains("MirrorProxyConfigOptions." + option, nginx.Message, StringComparison.Ordinal);
        Assert.Equal(nginx.Message, istio.Message);
    }

    private static void MapSample(IEndpointRouteBuilder endpoints) => MirrorTestApp.MapClasses(endpoints, new Effects(), "report");

    private static MirrorSafetyReport Report(Action<IEndpointRouteBuilder> map)
    {
        var app = WebApplication.CreateSlimBuilder().Build();
        map(app);
        return MirrorSafetyReport.Create(((IEndpointRouteBuilder)app).DataSources.SelectMany(d => d.Endpoints));
    }

    private static Task<MirrorTestApp> StartAsync(Action<MirroringOptions>? configure = null, Action<MirrorProxyConfigOptions>? export = null) =>
        MirrorTestApp.StartAsync(o => configure?.Invoke(o), map: e => e.MapMirrorSafetyReport("/mirror-safety", export));

    private static string[] Routes(string yaml) =>
        [.. yaml.Split("\n- name: ").Skip(1)];

    private static async Task<JsonElement[]> EntriesAsync(HttpResponseMessage response)
    {
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return [.. document.RootElement.GetProperty("endpoints").EnumerateArray().Select(e => e.Clone())];
    }

    private static void AssertEntry(JsonElement[] entries, string method, string route, string @class, string reason, string condition, bool shared, bool isolated)
    {
        var entry = Assert.Single(entries, e => e.GetProperty("route").GetString() == route && e.GetProperty("methods").EnumerateArray().Any(m => m.GetString() == method));
        Assert.Equal(@class, entry.GetProperty("class").GetString());
        Assert.Equal(reason, entry.GetProperty("reason").GetString());
        Assert.Equal(condition, entry.GetProperty("condition").GetString());
        Assert.Equal(shared, entry.GetProperty("mirrorableWithSharedData").GetBoolean());
        Assert.Equal(isolated, entry.GetProperty("mirrorableWithIsolatedData").GetBoolean());
    }
}
