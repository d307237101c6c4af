using System.Diagnostics.Metrics;
using System.Net;
using System.Text.Json;
using Idempotency.AspNetCore.Deduplication;
using Idempotency.AspNetCore.Mirroring;
using Idempotency.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Idempotency.AspNetCore.Tests.Mirroring;

public sealed class MirrorGuardTests
{
    private const string Secret = "s3cr3t-known-only-to-the-proxy";

    [Fact]
    public async Task APrimary_RemovesTheMarker_BeforeTheApplicationSeesIt_AndCountsIt()
    {
        await using var primary = await MirrorTestApp.StartAsync(_ => { });
        using var markers = Collect(primary, MirrorMetrics.UntrustedMarkersInstrument);

        var response = await primary.SendAsync(MirrorTestApp.Request(HttpMethod.Post, "/payments", key: "k1", marker: "1"));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await JsonAsync(response);
        Assert.False(body.GetProperty("marker").GetBoolean());
        Assert.False(body.GetProperty("copy").GetBoolean());
        Assert.Equal(1, primary.Effects.Count("payment"));
        Assert.Equal(["stripped"], markers.GetMeasurementSnapshot().Select(m => (string)m.Tags["action"]!));
    }

    [Fact]
    public async Task APrimary_WithStrippingOff_LeavesTheMarker_ButStillRunsTheRequestForReal()
    {
        await using var primary = await MirrorTestApp.StartAsync(o => o.StripMarkerOnPrimary = false);
        using var markers = Collect(primary, MirrorMetrics.UntrustedMarkersInstrument);

        var response = await primary.SendAsync(MirrorTestApp.Request(HttpMethod.Post, "/emails", marker: Secret));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(1, primary.Effects.Count("email"));
        Assert.Equal(["ignored"], markers.GetMeasurementSnapshot().Select(m => (string)m.Tags["action"]!));
    }

    [Fact]
    public async Task APrimary_ConfiguredWithTheSecret_StillNeverTreatsAMarkedRequestAsACopy()
    {
        await using var primary = await MirrorTestApp.StartAsync(o => o.Secret = Secret);

        var response = await primary.SendAsync(MirrorTestApp.Request(HttpMethod.Post, "/emails", marker: Secret));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(1, primary.Effects.Count("email"));
    }

    [Fact]
    public async Task ACanaryWithSharedData_RunsSafeCopies()
    {
        await using var canary = await MirrorTestApp.StartAsync(o => o.Role = MirrorRole.Canary);
        using var copies = Collect(canary, MirrorMetrics.CopiesInstrument);

        var read = await canary.SendAsync(MirrorTestApp.Request(HttpMethod.Get, "/items/7", marker: "1"));
        var search = await canary.SendAsync(MirrorTestApp.Request(HttpMethod.Post, "/search", marker: "1"));

        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.True((await JsonAsync(read)).GetProperty("copy").GetBoolean());
        Assert.Equal(HttpStatusCode.OK, search.StatusCode);
        Assert.Equal(2, canary.Effects.Total);
        Assert.Equal([("safe", "executed"), ("safe", "executed")], Tags(copies));
    }

    [Theory]
    [InlineData("PUT", "/items/7", "k1", "Idempotent")]
    [InlineData("POST", "/payments", "k1", "Deduplicated")]
    [InlineData("POST", "/entries", null, "Unsafe")]
    [InlineData("POST", "/emails", null, "Unsafe")]
    public async Task ACanaryWithSharedData_SuppressesEveryCopyThatIsNotSafe_With403(string method, string path, string? key, string expectedClass)
    {
        await using var canary = await MirrorTestApp.StartAsync(o => o.Role = MirrorRole.Canary);
        using var copies = Collect(canary, MirrorMetrics.CopiesInstrument);

        var response = await canary.SendAsync(MirrorTestApp.Request(new HttpMethod(method), path, key, marker: "1"));

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Forbidden, MirrorProblemTypes.WriteSuppressed);
        Assert.Equal(expectedClass, problem.GetProperty("class").GetString());
        Assert.Contains("nothing was applied", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, canary.Effects.Total);
        Assert.Equal([(expectedClass.ToLowerInvariant(), "suppressed")], Tags(copies));
    }

    [Fact]
    public async Task ACanaryWithSharedData_SuppressesAConditionalCopy()
    {
        await using var canary = await MirrorTestApp.StartAsync(o => o.Role = MirrorRole.Canary);
        var request = MirrorTestApp.Request(HttpMethod.Post, "/entries", marker: "1");
        request.Headers.TryAddWithoutValidation("If-Match", "\"563\"");

        var response = await canary.SendAsync(request);

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Forbidden, MirrorProblemTypes.WriteSuppressed);
        Assert.Equal("Conditional", problem.GetProperty("class").GetString());
        Assert.Equal(0, canary.Effects.Total);
    }

    [Fact]
    public async Task ACanaryWithIsolatedData_RunsIdempotentDeduplicatedAndConditionalCopies()
    {
        await using var canary = await MirrorTestApp.StartAsync(o =>
        {
            o.Role = MirrorRole.Canary;
            o.Data = MirrorDataMode.Isolated;
        });
        using var copies = Collect(canary, MirrorMetrics.CopiesInstrument);
        var conditional = MirrorTestApp.Request(HttpMethod.Post, "/entries", marker: "1");
        conditional.Headers.TryAddWithoutValidation("If-None-Match", "*");

        Assert.Equal(HttpStatusCode.OK, (await canary.SendAsync(MirrorTestApp.Request(HttpMethod.Put, "/items/7", marker: "1"))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await canary.SendAsync(MirrorTestApp.Request(HttpMethod.Post, "/payments", key: "k1", marker: "1"))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await canary.SendAsync(conditional)).StatusCode);

        Assert.Equal((1, 1, 1), (canary.Effects.Count("upsert"), canary.Effects.Count("payment"), canary.Effects.Count("entry")));
        Assert.Equal([("idempotent", "executed"), ("deduplicated", "executed"), ("conditional", "executed")], Tags(copies));
    }

    [Fact]
    public async Task ACanaryWithIsolatedData_SuppressesUnsafeCopies_IncludingAKeylessCopyToAKeyedEndpoint()
    {
        await using var canary = await MirrorTestApp.StartAsync(o =>
        {
            o.Role = MirrorRole.Canary;
            o.Data = MirrorDataMode.Isolated;
        });
        using var copies = Collect(canary, MirrorMetrics.CopiesInstrument);

        var email = await canary.SendAsync(MirrorTestApp.Request(HttpMethod.Post, "/emails", marker: "1"));
        var keyless = await canary.SendAsync(MirrorTestApp.Request(HttpMethod.Post, "/payments", marker: "1"));
        var unconditional = await canary.SendAsync(MirrorTestApp.Request(HttpMethod.Post, "/entries", marker: "1"));

        await ProblemAssert.IsProblemAsync(email, HttpStatusCode.Forbidden, MirrorProblemTypes.WriteSuppressed);
        var problem = await ProblemAssert.IsProblemAsync(keyless, HttpStatusCode.Forbidden, MirrorProblemTypes.WriteSuppressed);
        Assert.Equal("IdempotencyKeyMissing", problem.GetProperty("reason").GetString());
        await ProblemAssert.IsProblemAsync(unconditional, HttpStatusCode.Forbidden, MirrorProblemTypes.WriteSuppressed);
        Assert.Equal(0, canary.Effects.Total);
        Assert.Equal([("unsafe", "suppressed"), ("unsafe", "suppressed"), ("unsafe", "suppressed")], Tags(copies));
    }

    [Fact]
    public async Task ASuppressedCopy_NeverReachesTheIdempotencyStore()
    {
        var store = new CountingStore();
        await using var canary = await MirrorTestApp.StartAsync(o => o.Role = MirrorRole.Canary, s => s.AddSingleton<IIdempotencyStore>(store));

        await canary.SendAsync(MirrorTestApp.Request(HttpMethod.Post, "/payments", key: "k1", marker: "1"));

        Assert.Equal(0, store.Calls);
    }

    [Fact]
    public async Task ACanaryInReportOnlyMode_RunsEveryCopy_ButCountsAndLogsWhatItWouldSuppress()
    {
        var logs = new FakeLogCollector();
        await using var canary = await MirrorTestApp.StartAsync(
            o =>
            {
                o.Role = MirrorRole.Canary;
                o.ReportOnly = true;
            },
            s => s.AddLogging(b => b.AddProvider(new FakeLoggerProvider(logs)).SetMinimumLevel(LogLevel.Debug)),
            e => e.MapPost("/action", (HttpContext context) => context.Features.Get<IMirroredRequestFeature>()!.Action.ToString()));
        using var copies = Collect(canary, MirrorMetrics.CopiesInstrument);

        var email = await canary.SendAsync(MirrorTestApp.Request(HttpMethod.Post, "/emails", marker: "1"));
        var action = await canary.SendAsync(MirrorTestApp.Request(HttpMethod.Post, "/action", marker: "1"));

        Assert.Equal(HttpStatusCode.Accepted, email.StatusCode);
        Assert.Equal("WouldSuppress", await action.Content.ReadAsStringAsync());
        Assert.Equal(1, canary.Effects.Count("email"));
        Assert.Equal([("unsafe", "would_suppress"), ("unsafe", "would_suppress")], Tags(copies));
        Assert.Contains(logs.GetSnapshot(), r => r.Id is { Id: 203, Name: "MirrorCopyWouldBeSuppressed" } && r.Level == LogLevel.Warning);
    }

    [Fact]
    public async Task GuardLogsAboveDebug_NameTheRouteTemplate_NeverTheRawPath()
    {
        var logs = new FakeLogCollector();
        await using var canary = await MirrorTestApp.StartAsync(
            o => o.Role = MirrorRole.Canary,
            s => s.AddLogging(b => b.AddProvider(new FakeLoggerProvider(logs)).SetMinimumLevel(LogLevel.Debug)),
            e => e.MapPost("/accounts/{id}/debits", () => "debited"));

        var copy = await canary.SendAsync(MirrorTestApp.Request(HttpMethod.Post, "/accounts/4242/debits", marker: "1"));

        Assert.Equal(HttpStatusCode.Forbidden, copy.StatusCode);
        var suppressed = Assert.Single(logs.GetSnapshot(), r => r.Id.Id == 202);
        Assert.Contains("/accounts/{id}/debits", suppressed.Message, StringComparison.Ordinal);
        Assert.All(logs.GetSnapshot().Where(r => r.Level > LogLevel.Debug && r.Category!.StartsWith("Idempotency", StringComparison.Ordinal)), r =>
            Assert.DoesNotContain("4242", r.Message, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ACanaryWithASecret_TreatsAMarkerWithTheSecret_AsACopy()
    {
        await using var canary = await MirrorTestApp.StartAsync(o =>
        {
            o.Role = MirrorRole.Canary;
            o.Secret = Secret;
        });

        var response = await canary.SendAsync(MirrorTestApp.Request(HttpMethod.Post, "/emails", marker: Secret));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Forbidden, MirrorProblemTypes.WriteSuppressed);
        Assert.Equal(0, canary.Effects.Total);
    }

    [Theory]
    [InlineData("1")]
    [InlineData("s3cr3t-known-only-to-the-prox")]
    [InlineData("s3cr3t-known-only-to-the-proxy ")]
    [InlineData("S3CR3T-KNOWN-ONLY-TO-THE-PROXY")]
    public async Task ACanaryWithASecret_RefusesAMarkerWithAnyOtherValue_WithoutRunningIt(string value)
    {
        await using var canary = await MirrorTestApp.StartAsync(o =>
        {
            o.Role = MirrorRole.Canary;
            o.Secret = Secret;
        });
        using var markers = Collect(canary, MirrorMetrics.UntrustedMarkersInstrument);

        var read = await canary.SendAsync(MirrorTestApp.Request(HttpMethod.Get, "/items/1", marker: value));
        var write = await canary.SendAsync(MirrorTestApp.Request(HttpMethod.Post, "/emails", marker: value));

        await ProblemAssert.IsProblemAsync(read, HttpStatusCode.Forbidden, MirrorProblemTypes.MarkerInvalid);
        await ProblemAssert.IsProblemAsync(write, HttpStatusCode.Forbidden, MirrorProblemTypes.MarkerInvalid);
        Assert.Equal(0, canary.Effects.Total);
        Assert.Equal(["refused", "refused"], markers.GetMeasurementSnapshot().Select(m => (string)m.Tags["action"]!));
    }

    [Fact]
    public async Task ACanaryWithASecret_RefusesTheMarkerSentTwice_EvenIfOneValueIsTheSecret()
    {
        await using var canary = await MirrorTestApp.StartAsync(o =>
        {
            o.Role = MirrorRole.Canary;
            o.Secret = Secret;
        });
        var request = MirrorTestApp.Request(HttpMethod.Get, "/items/1");
        request.Headers.TryAddWithoutValidation(MirrorTestApp.Marker, [Secret, "other"]);

        var response = await canary.SendAsync(request);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Forbidden, MirrorProblemTypes.MarkerInvalid);
    }

    [Fact]
    public async Task ACanaryInReportOnlyMode_RunsARequestWithAWrongSecret_AsAnOrdinaryRequest()
    {
        await using var canary = await MirrorTestApp.StartAsync(o =>
        {
            o.Role = MirrorRole.Canary;
            o.Secret = Secret;
            o.ReportOnly = true;
        });
        using var markers = Collect(canary, MirrorMetrics.UntrustedMarkersInstrument);

        var response = await canary.SendAsync(MirrorTestApp.Request(HttpMethod.Get, "/items/1", marker: "wrong"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False((await JsonAsync(response)).GetProperty("copy").GetBoolean());
        Assert.Equal(["would_refuse"], markers.GetMeasurementSnapshot().Select(m => (string)m.Tags["action"]!));
    }

    [Fact]
    public async Task ACanaryWithoutASecret_TreatsAnyMarkerValue_AsACopy()
    {
        await using var canary = await MirrorTestApp.StartAsync(o => o.Role = MirrorRole.Canary);

        var response = await canary.SendAsync(MirrorTestApp.Request(HttpMethod.Post, "/emails", marker: "anything"));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Forbidden, MirrorProblemTypes.WriteSuppressed);
    }

    [Fact]
    public async Task ACanary_RunsARequestWithoutAnyMarker_AsAnOrdinaryRequest()
    {
        await using var canary = await MirrorTestApp.StartAsync(o => o.Role = MirrorRole.Canary);
        using var copies = Collect(canary, MirrorMetrics.CopiesInstrument);

        var response = await canary.SendAsync(MirrorTestApp.Request(HttpMethod.Post, "/emails"));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(1, canary.Effects.Count("email"));
        Assert.Empty(copies.GetMeasurementSnapshot());
    }

    [Fact]
    public async Task ACanary_RecognisesACopyByItsShadowHost()
    {
        await using var canary = await MirrorTestApp.StartAsync(o =>
        {
            o.Role = MirrorRole.Canary;
            o.ShadowHosts.Add("orders");
        });
        var request = MirrorTestApp.Request(HttpMethod.Post, "/emails");
        request.Headers.Host = "orders-shadow:8080";

        var response = await canary.SendAsync(request);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Forbidden, MirrorProblemTypes.WriteSuppressed);
        Assert.Equal(0, canary.Effects.Total);
    }

    [Fact]
    public async Task ACanary_HonoursAConfiguredMarkerHeaderName()
    {
        await using var canary = await MirrorTestApp.StartAsync(o =>
        {
            o.Role = MirrorRole.Canary;
            o.HeaderName = "X-Mirror";
        });
        var marked = MirrorTestApp.Request(HttpMethod.Post, "/emails");
        marked.Headers.Add("X-Mirror", "1");

        var withDefaultHeader = await canary.SendAsync(MirrorTestApp.Request(HttpMethod.Post, "/emails", marker: "1"));
        var withConfiguredHeader = await canary.SendAsync(marked);

        Assert.Equal(HttpStatusCode.Accepted, withDefaultHeader.StatusCode);
        await ProblemAssert.IsProblemAsync(withConfiguredHeader, HttpStatusCode.Forbidden, MirrorProblemTypes.WriteSuppressed);
        Assert.Equal(1, canary.Effects.Count("email"));
    }

    [Fact]
    public async Task ACopyAndItsOriginal_SharingOneStore_NeverSeeEachOthersKey()
    {
        var store = new CountingStore();
        await using var canary = await MirrorTestApp.StartAsync(
            o =>
            {
                o.Role = MirrorRole.Canary;
                o.Data = MirrorDataMode.Isolated;
            },
            s => s.AddSingleton<IIdempotencyStore>(store));
        await using var primary = await MirrorTestApp.StartAsync(_ => { }, s => s.AddSingleton<IIdempotencyStore>(store));

        // The copy arrives first and claims its key, as a mirror can.
        var copy = await canary.SendAsync(MirrorTestApp.Request(HttpMethod.Post, "/payments", key: "k1", marker: "1"));
        var original = await primary.SendAsync(MirrorTestApp.Request(HttpMethod.Post, "/payments", key: "k1"));
        var retry = await primary.SendAsync(MirrorTestApp.Request(HttpMethod.Post, "/payments", key: "k1"));
        var copyOfRetry = await canary.SendAsync(MirrorTestApp.Request(HttpMethod.Post, "/payments", key: "k1", marker: "1"));

        Assert.Equal(HttpStatusCode.Created, copy.StatusCode);
        Assert.Equal(HttpStatusCode.Created, original.StatusCode);
        Assert.False(original.Headers.Contains("Idempotent-Replayed"));
        Assert.True((await JsonAsync(original)).TryGetProperty("copy", out var isCopy) && !isCopy.GetBoolean());
        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(await original.Content.ReadAsStringAsync(), await retry.Content.ReadAsStringAsync());
        Assert.True(copyOfRetry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(await copy.Content.ReadAsStringAsync(), await copyOfRetry.Content.ReadAsStringAsync());
        Assert.Equal((1, 1), (primary.Effects.Count("payment"), canary.Effects.Count("payment")));
    }

    [Fact]
    public async Task ACopysIdempotencyFeature_KeepsTheClientKeyAndScope_ButDerivesOtherDownstreamKeys()
    {
        var store = new CountingStore();
        string? Derive(HttpContext context) => context.Features.Get<IIdempotencyFeature>() is { } f ? $"{f.Key}|{f.Scope}|{f.DeriveKey("payment")}" : null;
        await using var canary = await MirrorTestApp.StartAsync(
            o =>
            {
                o.Role = MirrorRole.Canary;
                o.Data = MirrorDataMode.Isolated;
            },
            s => s.AddSingleton<IIdempotencyStore>(store),
            e => e.MapPost("/derive", Derive).RequireIdempotency());
        await using var primary = await MirrorTestApp.StartAsync(_ => { }, s => s.AddSingleton<IIdempotencyStore>(store), e => e.MapPost("/derive", Derive).RequireIdempotency());

        var fromCopy = (await (await canary.SendAsync(MirrorTestApp.Request(HttpMethod.Post, "/derive", key: "k1", marker: "1"))).Content.ReadAsStringAsync()).Split('|');
        var fromOriginal = (await (await primary.SendAsync(MirrorTestApp.Request(HttpMethod.Post, "/derive", key: "k1"))).Content.ReadAsStringAsync()).Split('|');

        Assert.Equal(fromOriginal[..2], fromCopy[..2]);
        Assert.NotEqual(fromOriginal[2], fromCopy[2]);
    }

    [Fact]
    public async Task TheGuard_LogsWithStableEventIds_AndNeverTheMarkerValue()
    {
        var logs = new FakeLogCollector();
        void Logging(IServiceCollection s) => s.AddLogging(b => b.AddProvider(new FakeLoggerProvider(logs)).SetMinimumLevel(LogLevel.Debug));
        await using (var canary = await MirrorTestApp.StartAsync(
            o =>
            {
                o.Role = MirrorRole.Canary;
                o.Secret = Secret;
            },
            Logging))
        {
            await canary.SendAsync(MirrorTestApp.Request(HttpMethod.Get, "/items/1", marker: Secret));
            await canary.SendAsync(MirrorTestApp.Request(HttpMethod.Post, "/emails", marker: Secret));
            await canary.SendAsync(MirrorTestApp.Request(HttpMethod.Post, "/emails", marker: "wrong-" + Secret));
        }

        await using (var primary = await MirrorTestApp.StartAsync(o => o.Secret = Secret, Logging))
        {
            await primary.SendAsync(MirrorTestApp.Request(HttpMethod.Get, "/items/1", marker: Secret));
        }

        var guardLogs = logs.GetSnapshot().Where(r => r.Category == "Idempotency.AspNetCore.Mirroring.MirrorGuardMiddleware").ToArray();
        Assert.Equal(
            [(201, "MirrorCopyExecuted"), (202, "MirrorCopySuppressed"), (206, "MirrorMarkerRefused"), (204, "MirrorMarkerStripped")],
            guardLogs.Select(r => (r.Id.Id, r.Id.Name!)).ToArray());
        Assert.DoesNotContain(guardLogs, r => r.Message.Contains(Secret, StringComparison.Ordinal));
    }

    [Fact]
    public async Task UseMirrorGuard_WithoutAddMirroring_SaysWhatToCall()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        await using var app = builder.Build();

        var exception = Assert.Throws<InvalidOperationException>(() => app.UseMirrorGuard());

        Assert.Contains("AddMirroring()", exception.Message, StringComparison.Ordinal);
    }

    internal static MetricCollector<long> Collect(MirrorTestApp app, string instrument) =>
        new(app.Services.GetRequiredService<IMeterFactory>(), IdempotencyAspNetCoreTelemetry.MeterName, instrument);

    private static (string Class, string Action)[] Tags(MetricCollector<long> copies) =>
        [.. copies.GetMeasurementSnapshot().Select(m => ((string)m.Tags["class"]!, (string)m.Tags["action"]!))];

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response)
    {
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.Clone();
    }
}
