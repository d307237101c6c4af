using Idempotency.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Idempotency.AspNetCore.Tests.Deduplication;

public sealed class TelemetryTests
{
    [Fact]
    public async Task RequestsCounter_CountsEachOutcome()
    {
        await using var app = await TestApp.StartAsync(e =>
        {
            e.MapPost("/pay", () => "ok").RequireIdempotency();
            e.MapPost("/fail", () => Results.StatusCode(StatusCodes.Status503ServiceUnavailable)).RequireIdempotency();
        });
        using var requests = new MetricCollector<long>(app.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), IdempotencyTelemetry.MeterName, "idempotency.requests");

        await app.SendAsync(TestApp.Post("/pay", "k"));
        await app.SendAsync(TestApp.Post("/pay", "k"));
        await app.SendAsync(TestApp.Post("/pay", "k", "{\"other\":1}"));
        await app.SendAsync(TestApp.Post("/pay", key: null));
        await app.SendAsync(TestApp.Post("/fail", "k2"));

        var outcomes = requests.GetMeasurementSnapshot().Select(m => (string)m.Tags["outcome"]!).ToArray();
        Assert.Equal(["executed", "replayed", "mismatch", "rejected", "released"], outcomes);
    }

    [Fact]
    public async Task HttpServerRequestDuration_CarriesTheOutcome_SoAReplayIsToldApartFromAnExecution()
    {
        await using var app = await TestApp.StartAsync(e =>
        {
            e.MapPost("/pay", () => "ok").RequireIdempotency();
            e.MapPost("/throws", (Func<string>)(() => throw new InvalidOperationException("boom"))).RequireIdempotency();
        });
        using var durations = new MetricCollector<double>(app.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), "Microsoft.AspNetCore.Hosting", "http.server.request.duration");

        // Hosting records a request as it ends, which can be after the client has its response: each request waits for
        // its measurement, so that the next one's cannot come first (seen once under load: "replayed" before "executed").
        await app.SendAsync(TestApp.Post("/pay", "k"));
        await durations.WaitForMeasurementsAsync(1, TimeSpan.FromSeconds(30));
        await app.SendAsync(TestApp.Post("/pay", "k"));
        await durations.WaitForMeasurementsAsync(2, TimeSpan.FromSeconds(30));
        await app.SendAsync(TestApp.Post("/pay", key: null));
        await durations.WaitForMeasurementsAsync(3, TimeSpan.FromSeconds(30));
        await Assert.ThrowsAsync<InvalidOperationException>(() => app.SendAsync(TestApp.Post("/throws", "k2"))); // the test server rethrows
        await durations.WaitForMeasurementsAsync(4, TimeSpan.FromSeconds(30));

        var outcomes = durations.GetMeasurementSnapshot().Select(m => m.Tags.TryGetValue("idempotency.outcome", out var value) ? (string?)value : null).ToArray();
        Assert.Equal(new string?[] { "executed", "replayed", "rejected", "released" }, outcomes);
    }

    [Fact]
    public async Task StoreDuration_IsRecordedPerOperation()
    {
        await using var app = await TestApp.StartAsync(e => e.MapPost("/pay", () => "ok").RequireIdempotency());
        using var durations = new MetricCollector<double>(app.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), IdempotencyTelemetry.MeterName, "idempotency.store.duration");

        await app.SendAsync(TestApp.Post("/pay", "k"));

        var operations = durations.GetMeasurementSnapshot().Select(m => ((string)m.Tags["operation"]!, (string)m.Tags["store"]!, (string)m.Tags["result"]!)).ToArray();
        Assert.Equal([("claim", "inmemory", "success"), ("complete", "inmemory", "success")], operations);
        Assert.All(durations.GetMeasurementSnapshot(), m => Assert.True(m.Value >= 0));
    }

    [Fact]
    public async Task Logs_UseStableEventIds_AndNeverTheBody()
    {
        var logs = new FakeLogCollector();
        await using var app = await TestApp.StartAsync(
            e => e.MapPost("/pay", () => "ok").RequireIdempotency(),
            services: s => s.AddLogging(b => b.AddProvider(new FakeLoggerProvider(logs)).SetMinimumLevel(LogLevel.Debug)));

        await app.SendAsync(TestApp.Post("/pay", "k", "{\"secret\":\"card-4242\"}"));
        await app.SendAsync(TestApp.Post("/pay", "k", "{\"secret\":\"card-4242\"}"));
        await app.SendAsync(TestApp.Post("/pay", key: null));

        // The run's events come from the engine (same ids as when the middleware wrote them), the HTTP ones from the middleware.
        var middlewareLogs = logs.GetSnapshot()
            .Where(r => r.Category is "Idempotency.AspNetCore.Deduplication.IdempotencyMiddleware" or "Idempotency.IdempotencyEngine")
            .ToArray();
        Assert.Equal([(3, "Executed"), (4, "Replayed"), (1, "KeyMissing")], middlewareLogs.Select(r => (r.Id.Id, r.Id.Name!)).ToArray());
        Assert.DoesNotContain(logs.GetSnapshot(), r => r.Message.Contains("card-4242", StringComparison.Ordinal));
        Assert.DoesNotContain(middlewareLogs, r => r.Message.Contains("alice", StringComparison.Ordinal));
    }
}
