using System.Diagnostics.Metrics;
using System.Net;
using Idempotency.AspNetCore.Mirroring;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Idempotency.AspNetCore.Tests.Mirroring;

public sealed class ShadowPropagationTests
{
    private const string Secret = "0123456789abcdef0123456789abcdef";

    [Fact]
    public async Task DuringASafeCopy_ASafeOutgoingCall_CarriesTheMarkerWithTheSecret()
    {
        var downstream = new RecordingHandler();
        await using var canary = await StartAsync(downstream, o => o.Secret = Secret);

        var response = await canary.SendAsync(MirrorTestApp.Request(HttpMethod.Get, "/call/GET/payments", marker: Secret));

        Assert.Equal("sent", await response.Content.ReadAsStringAsync());
        var call = Assert.Single(downstream.Calls);
        Assert.Equal(("GET", Secret), (call.Method, call.Marker));
    }

    [Theory]
    [InlineData("POST")]
    [InlineData("PUT")]
    [InlineData("PATCH")]
    [InlineData("DELETE")]
    public async Task DuringACopy_AnUnsafeOutgoingCall_IsBlocked_WithAClearException(string method)
    {
        var downstream = new RecordingHandler();
        var logs = new FakeLogCollector();
        await using var canary = await StartAsync(downstream, logs: logs);
        using var outbound = Collect(canary);

        var response = await canary.SendAsync(MirrorTestApp.Request(HttpMethod.Get, $"/call/{method}/payments", marker: "1"));

        var message = await response.Content.ReadAsStringAsync();
        Assert.StartsWith("blocked: The outgoing " + method + " to http://payments.test/charges was blocked", message, StringComparison.Ordinal);
        Assert.Contains("HttpClient 'payments'", message, StringComparison.Ordinal);
        Assert.Contains("AllowUnsafeMethods", message, StringComparison.Ordinal);
        Assert.DoesNotContain("token=", message, StringComparison.Ordinal);
        Assert.Empty(downstream.Calls);
        Assert.Equal(["blocked"], outbound.GetMeasurementSnapshot().Select(m => (string)m.Tags["action"]!));
        var log = Assert.Single(logs.GetSnapshot(), r => r.Category == "Idempotency.AspNetCore.Mirroring.ShadowPropagationHandler");
        Assert.Equal((208, "MirrorOutboundBlocked", LogLevel.Warning), (log.Id.Id, log.Id.Name, log.Level));
        Assert.DoesNotContain("token=", log.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DuringACopy_AClientThatAllowsUnsafeMethods_SendsThemWithTheMarker()
    {
        var downstream = new RecordingHandler();
        await using var canary = await StartAsync(downstream);

        var response = await canary.SendAsync(MirrorTestApp.Request(HttpMethod.Get, "/call/POST/sandbox", marker: "1"));

        Assert.Equal("sent", await response.Content.ReadAsStringAsync());
        Assert.Equal(("POST", "1"), (downstream.Calls.Single().Method, downstream.Calls.Single().Marker));
    }

    [Fact]
    public async Task AClientsOwnMarkerValue_WinsOverTheSecret()
    {
        var downstream = new RecordingHandler();
        await using var canary = await StartAsync(downstream, o => o.Secret = Secret, sandboxMarker: "sandbox-copy");

        await canary.SendAsync(MirrorTestApp.Request(HttpMethod.Get, "/call/GET/sandbox", marker: Secret));

        Assert.Equal("sandbox-copy", downstream.Calls.Single().Marker);
    }

    [Fact]
    public async Task InReportOnlyMode_AnUnsafeOutgoingCall_IsSentWithTheMarker_AndCounted()
    {
        var downstream = new RecordingHandler();
        await using var canary = await StartAsync(downstream, o => o.ReportOnly = true);
        using var outbound = Collect(canary);

        var response = await canary.SendAsync(MirrorTestApp.Request(HttpMethod.Get, "/call/POST/payments", marker: "1"));

        Assert.Equal("sent", await response.Content.ReadAsStringAsync());
        Assert.Equal(("POST", "1"), (downstream.Calls.Single().Method, downstream.Calls.Single().Marker));
        Assert.Equal(["would_block"], outbound.GetMeasurementSnapshot().Select(m => (string)m.Tags["action"]!));
    }

    [Fact]
    public async Task OutsideACopy_OutgoingCallsPassUntouched_EvenRightAfterACopyOnTheSameClient()
    {
        var downstream = new RecordingHandler();
        await using var canary = await StartAsync(downstream);

        await canary.SendAsync(MirrorTestApp.Request(HttpMethod.Get, "/call/GET/payments", marker: "1"));
        var response = await canary.SendAsync(MirrorTestApp.Request(HttpMethod.Get, "/call/POST/payments"));

        Assert.Equal("sent", await response.Content.ReadAsStringAsync());
        Assert.Equal([("GET", "1"), ("POST", null)], downstream.Calls.Select(c => (c.Method, c.Marker)).ToArray());
    }

    [Fact]
    public async Task OnAPrimary_OutgoingCallsPassUntouched_WhateverTheRequestCarried()
    {
        var downstream = new RecordingHandler();
        await using var primary = await StartAsync(downstream, o => o.Role = MirrorRole.Primary);

        var response = await primary.SendAsync(MirrorTestApp.Request(HttpMethod.Get, "/call/POST/payments", marker: "1"));

        Assert.Equal("sent", await response.Content.ReadAsStringAsync());
        Assert.Equal(("POST", null), (downstream.Calls.Single().Method, downstream.Calls.Single().Marker));
    }

    [Fact]
    public async Task AMarkerAlreadySetByTheCaller_IsReplaced_NotDuplicated()
    {
        var downstream = new RecordingHandler();
        await using var canary = await StartAsync(downstream, o => o.Secret = Secret);

        await canary.SendAsync(MirrorTestApp.Request(HttpMethod.Get, "/call/GET/payments?preset=1", marker: Secret));

        Assert.Equal(Secret, downstream.Calls.Single().Marker);
    }

    private static Task<MirrorTestApp> StartAsync(RecordingHandler downstream, Action<MirroringOptions>? configure = null, string? sandboxMarker = null, FakeLogCollector? logs = null) =>
        MirrorTestApp.StartAsync(
            o =>
            {
                o.Role = MirrorRole.Canary;
                configure?.Invoke(o);
            },
            services =>
            {
                if (logs is not null)
                {
                    services.AddLogging(b => b.AddProvider(new FakeLoggerProvider(logs)));
                }

                services.AddHttpClient("payments", c => c.BaseAddress = new Uri("http://payments.test/"))
                    .AddShadowPropagation()
                    .ConfigurePrimaryHttpMessageHandler(() => downstream);
                services.AddHttpClient("sandbox", c => c.BaseAddress = new Uri("http://sandbox.test/"))
                    .AddShadowPropagation(o =>
                    {
                        o.AllowUnsafeMethods = true;
                        o.MarkerValue = sandboxMarker;
                    })
                    .ConfigurePrimaryHttpMessageHandler(() => downstream);
            },
            endpoints => endpoints.MapGet("/call/{method}/{client}", async (string method, string client, HttpContext context, IHttpClientFactory factory) =>
            {
                var request = new HttpRequestMessage(new HttpMethod(method), "charges?token=abc");
                if (context.Request.Query.ContainsKey("preset"))
                {
                    request.Headers.Add(MirrorTestApp.Marker, "preset-by-caller");
                }

                try
                {
                    using var response = await factory.CreateClient(client).SendAsync(request);
                    return "sent";
                }
                catch (ShadowCallBlockedException ex)
                {
                    return "blocked: " + ex.Message;
                }
            }));

    private static MetricCollector<long> Collect(MirrorTestApp app) =>
        new(app.Services.GetRequiredService<IMeterFactory>(), IdempotencyAspNetCoreTelemetry.MeterName, MirrorMetrics.OutboundCallsInstrument);

    private sealed class RecordingHandler : HttpMessageHandler
    {
        private readonly List<(string Method, string? Marker)> _calls = [];

        public IReadOnlyList<(string Method, string? Marker)> Calls
        {
            get
            {
                lock (_calls)
                {
                    return [.. _calls];
                }
            }
        }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var marker = request.Headers.TryGetValues(MirrorTestApp.Marker, out var values) ? string.Join(",", values) : null;
            lock (_calls)
            {
                _calls.Add((request.Method.Method, marker));
            }

            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK));
        }
    }
}
