using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using System.Text.Json;
using Idempotency.AspNetCore.Mirroring;
using Idempotency.AspNetCore.Mirroring.ProxyConfiguration;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace Idempotency.AspNetCore.Tests.Mirroring.ProxyConfiguration;

/// <summary>
/// Real nginx in front of a primary and a canary (two Kestrel instances of the same app on 127.0.0.1), mirroring every
/// request to the canary with the marker header, as an operator would set it up.
/// </summary>
[Trait("Lane", "Full")]
public sealed class NginxMirroringEndToEndTests
{
    private const string Secret = "e2e-0123456789abcdef0123456789abcdef";
    private static readonly TimeSpan s_copyWait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task WithSharedData_NKeyedWritesProduceExactlyNEffects_ReadsRunOnBoth_AndSuppressedCopiesAreCounted()
    {
        const int writes = 5;
        const int reads = 3;
        var data = new Effects();
        await using var primary = await StartInstanceAsync(MirrorRole.Primary, MirrorDataMode.Shared, data);
        await using var canary = await StartInstanceAsync(MirrorRole.Canary, MirrorDataMode.Shared, data);
        using var copies = new MetricCollector<long>(canary.App.Services.GetRequiredService<IMeterFactory>(), IdempotencyAspNetCoreTelemetry.MeterName, MirrorMetrics.CopiesInstrument);
        await using var nginx = await NginxProcess.StartAsync(port => MirrorEverything(port, primary.App.Port, canary.App.Port));
        using var client = new HttpClient { BaseAddress = nginx.Address };

        for (var i = 0; i < writes; i++)
        {
            var response = await client.SendAsync(MirrorTestApp.Request(HttpMethod.Post, "/payments", key: $"pay-{i}"));
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            Assert.Equal("primary", (await JsonAsync(response)).GetProperty("instance").GetString());
        }

        for (var i = 0; i < reads; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/items/{i}")).StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(MirrorTestApp.Request(HttpMethod.Put, "/items/1"))).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await client.SendAsync(MirrorTestApp.Request(HttpMethod.Post, "/emails"))).StatusCode);

        // A retry of every write replays the primary's answer; its copy is suppressed again.
        for (var i = 0; i < writes; i++)
        {
            var retry = await client.SendAsync(MirrorTestApp.Request(HttpMethod.Post, "/payments", key: $"pay-{i}"));
            Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
            Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
        }

        var expectedCopies = writes + reads + 1 + 1 + writes;
        await copies.WaitForMeasurementsAsync(expectedCopies, s_copyWait);

        Assert.Equal(writes, data.Count("payment"));
        Assert.Equal(2 * reads, data.Count("read"));
        Assert.Equal(1, data.Count("upsert"));
        Assert.Equal(1, data.Count("email"));
        var tags = copies.GetMeasurementSnapshot().Select(m => ((string)m.Tags["class"]!, (string)m.Tags["action"]!)).ToArray();
        Assert.Equal(expectedCopies, tags.Length);
        Assert.Equal(2 * writes, tags.Count(t => t == ("deduplicated", "suppressed")));
        Assert.Equal(reads, tags.Count(t => t == ("safe", "executed")));
        Assert.Equal(1, tags.Count(t => t == ("idempotent", "suppressed")));
        Assert.Equal(1, tags.Count(t => t == ("unsafe", "suppressed")));
        Assert.Equal(0, canary.Requests.Count(r => r.Marker != Secret));
        Assert.Equal(0, primary.Requests.Count(r => r.Marker is not null));
    }

    [Fact]
    public async Task WithIsolatedDataAndOneSharedStore_ThePrimaryNeverSeesA409OrAReplayCausedByACopy()
    {
        const int writes = 6;
        var store = new Infrastructure.CountingStore();
        var rendezvous = new Rendezvous();
        var primaryData = new Effects();
        var canaryData = new Effects();
        await using var primary = await StartInstanceAsync(MirrorRole.Primary, MirrorDataMode.Isolated, primaryData, store, rendezvous);
        await using var canary = await StartInstanceAsync(MirrorRole.Canary, MirrorDataMode.Isolated, canaryData, store, rendezvous);
        using var copies = new MetricCollector<long>(canary.App.Services.GetRequiredService<IMeterFactory>(), IdempotencyAspNetCoreTelemetry.MeterName, MirrorMetrics.CopiesInstrument);
        await using var nginx = await NginxProcess.StartAsync(port => MirrorEverything(port, primary.App.Port, canary.App.Port));
        using var client = new HttpClient { BaseAddress = nginx.Address };

        // Each original waits until its copy holds its claim: an even copy has completed, an odd one is still running.
        // Were the copy's key the original's, the original would be replayed the copy's answer (even) or get 409 (odd).
        var originals = await Task.WhenAll(Enumerable.Range(0, writes).Select(i => client.SendAsync(MirrorTestApp.Request(HttpMethod.Post, "/payments", key: $"pay-{i}"))));
        foreach (var response in originals)
        {
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            Assert.False(response.Headers.Contains("Idempotent-Replayed"));
            Assert.Equal("primary", (await JsonAsync(response)).GetProperty("instance").GetString());
        }

        await copies.WaitForMeasurementsAsync(writes, s_copyWait);
        for (var i = 0; i < writes; i++)
        {
            var retry = await client.SendAsync(MirrorTestApp.Request(HttpMethod.Post, "/payments", key: $"pay-{i}"));
            Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
            Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
            Assert.Equal(await originals[i].Content.ReadAsStringAsync(), await retry.Content.ReadAsStringAsync());
        }

        Assert.Equal(HttpStatusCode.Accepted, (await client.SendAsync(MirrorTestApp.Request(HttpMethod.Post, "/emails"))).StatusCode);
        await copies.WaitForMeasurementsAsync(2 * writes + 1, s_copyWait);

        Assert.True(rendezvous.AllCopiesClaimedFirst, "Every copy claimed its key before its original did.");
        Assert.Equal(writes, primaryData.Count("payment"));
        Assert.Equal(writes, canaryData.Count("payment"));
        Assert.Equal(0, canaryData.Count("email"));
        Assert.Equal(1, primaryData.Count("email"));
        var tags = copies.GetMeasurementSnapshot().Select(m => ((string)m.Tags["class"]!, (string)m.Tags["action"]!)).ToArray();
        Assert.Equal(2 * writes, tags.Count(t => t == ("deduplicated", "executed")));
        Assert.Equal(1, tags.Count(t => t == ("unsafe", "suppressed")));
    }

    [Fact]
    public async Task AMarkerSentStraightToThePrimary_ChangesNothing()
    {
        var data = new Effects();
        await using var primary = await StartInstanceAsync(MirrorRole.Primary, MirrorDataMode.Shared, data);
        using var client = new HttpClient { BaseAddress = primary.App.Address };

        var email = await client.SendAsync(MirrorTestApp.Request(HttpMethod.Post, "/emails", marker: Secret));
        var payment = await client.SendAsync(MirrorTestApp.Request(HttpMethod.Post, "/payments", key: "k1", marker: Secret));
        var retry = await client.SendAsync(MirrorTestApp.Request(HttpMethod.Post, "/payments", key: "k1"));

        Assert.Equal(HttpStatusCode.Accepted, email.StatusCode);
        Assert.Equal(HttpStatusCode.Created, payment.StatusCode);
        var body = await JsonAsync(payment);
        Assert.False(body.GetProperty("marker").GetBoolean());
        Assert.False(body.GetProperty("copy").GetBoolean());
        Assert.True(retry.Headers.Contains("Idempotent-Replayed"), "The marked request claimed the client's own key, as any real request does.");
        Assert.Equal((1, 1), (data.Count("email"), data.Count("payment")));
    }

    [Theory]
    [InlineData(MirrorDataMode.Shared)]
    [InlineData(MirrorDataMode.Isolated)]
    public async Task TheGeneratedNginxConfiguration_MirrorsOnlyMirrorableRequests_AndNeverACopy(MirrorDataMode mode)
    {
        await using var primary = await StartInstanceAsync(MirrorRole.Primary, mode, new Effects());
        await using var canary = await StartInstanceAsync(MirrorRole.Canary, mode, new Effects());
        var report = MirrorSafetyReport.Create(primary.App.Services.GetRequiredService<EndpointDataSource>());
        var options = new MirrorProxyConfigOptions
        {
            Data = mode,
            Primary = $"127.0.0.1:{primary.App.Port}",
            Canary = $"127.0.0.1:{canary.App.Port}",
            MarkerValue = Secret,
        };
        await using var nginx = await NginxProcess.StartAsync(port =>
            report.ToNginxHttpSnippet(options) + $"server {{\n    listen 127.0.0.1:{port};\n" + report.ToNginxServerSnippet(options) + "}\n");

        // One connection: nginx reads the next request only once the previous one's mirror has finished.
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = 1 };
        using var client = new HttpClient(handler) { BaseAddress = nginx.Address };
        var ifMatch = MirrorTestApp.Request(HttpMethod.Post, "/entries");
        ifMatch.Headers.TryAddWithoutValidation("If-Match", "\"563\"");
        var alreadyACopy = MirrorTestApp.Request(HttpMethod.Get, "/items/8", marker: Secret);
        HttpRequestMessage[] requests =
        [
            MirrorTestApp.Request(HttpMethod.Post, "/emails"),
            MirrorTestApp.Request(HttpMethod.Post, "/payments", key: "k1"),
            MirrorTestApp.Request(HttpMethod.Post, "/payments"),
            MirrorTestApp.Request(HttpMethod.Put, "/items/1"),
            ifMatch,
            MirrorTestApp.Request(HttpMethod.Post, "/entries"),
            alreadyACopy,
            MirrorTestApp.Request(HttpMethod.Post, "/search"),
            MirrorTestApp.Request(HttpMethod.Get, "/items/9?last=1"),
        ];
        foreach (var request in requests)
        {
            var response = await client.SendAsync(request);
            Assert.True(response.IsSuccessStatusCode || response.StatusCode is HttpStatusCode.BadRequest, $"{request.Method} {request.RequestUri}: {response.StatusCode}");
        }

        await canary.WaitForRequestAsync("GET /items/9?last=1", s_copyWait);
        string[] expected = mode == MirrorDataMode.Shared
            ? ["POST /search", "GET /items/9?last=1"]
            : ["POST /payments", "PUT /items/1", "POST /entries", "POST /search", "GET /items/9?last=1"];
        Assert.Equal(expected, canary.Requests.Select(r => r.Line).ToArray());
        Assert.All(canary.Requests, r => Assert.Equal(Secret, r.Marker));
        Assert.Equal(requests.Length, primary.Requests.Count);
        Assert.Contains(primary.Requests, r => r.Line == "GET /items/8");
    }

    private static string MirrorEverything(int port, int primaryPort, int canaryPort) => $$"""
            upstream primary {
                server 127.0.0.1:{{primaryPort}};
            }
            upstream canary {
                server 127.0.0.1:{{canaryPort}};
            }
            server {
                listen 127.0.0.1:{{port}};
                location / {
                    mirror /_mirror;
                    mirror_request_body on;
                    proxy_pass http://primary;
                }
                location = /_mirror {
                    internal;
                    proxy_pass http://canary$request_uri;
                    proxy_set_header X-Shadow-Request "{{Secret}}";
                }
            }
        """;

    private static async Task<Instance> StartInstanceAsync(MirrorRole role, MirrorDataMode data, Effects effects, IIdempotencyStore? store = null, Rendezvous? rendezvous = null)
    {
        var instance = new Instance();
        var name = role == MirrorRole.Primary ? "primary" : "canary";
        instance.App = await LoopbackApp.StartAsync(
            services =>
            {
                if (store is not null)
                {
                    services.AddSingleton(store);
                }

                services.AddIdempotency();
                services.AddMirroring(o =>
                {
                    o.Role = role;
                    o.Data = data;
                    o.Secret = Secret;
                });
            },
            app =>
            {
                app.Use((context, next) =>
                {
                    instance.Record(context.Request);
                    return next(context);
                });
                app.UseRouting();
                app.UseMirrorGuard();
                if (rendezvous is not null && role == MirrorRole.Primary)
                {
                    app.Use(async (context, next) =>
                    {
                        await rendezvous.BeforeOriginalAsync(context);
                        await next(context);
                    });
                }

                app.UseIdempotency();
                if (rendezvous is not null)
                {
                    app.Use(async (context, next) =>
                    {
                        await rendezvous.OnClaimedAsync(context, role);
                        await next(context);
                    });
                }
            },
            endpoints => MirrorTestApp.MapClasses(endpoints, effects, name));
        return instance;
    }

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response)
    {
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.Clone();
    }

    /// <summary>Orders each original after its copy's claim, so a shared key would be caught, not raced past.</summary>
    private sealed class Rendezvous
    {
        private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(10);
        private readonly ConcurrentDictionary<string, TaskCompletionSource> _copyClaimed = new();
        private readonly ConcurrentDictionary<string, TaskCompletionSource> _originalClaimed = new();
        private int _lateCopies;

        public bool AllCopiesClaimedFirst => Volatile.Read(ref _lateCopies) == 0;

        public async Task BeforeOriginalAsync(HttpContext context)
        {
            if (Key(context) is { } key && !Get(_copyClaimed, key).Task.IsCompleted)
            {
                try
                {
                    await Get(_copyClaimed, key).Task.WaitAsync(s_wait);
                }
                catch (TimeoutException)
                {
                    Interlocked.Increment(ref _lateCopies);
                }
            }
        }

        /// <summary>Runs once a request holds its claim (after the idempotency middleware).</summary>
        public async Task OnClaimedAsync(HttpContext context, MirrorRole role)
        {
            if (Key(context) is not { } key)
            {
                return;
            }

            if (role == MirrorRole.Primary)
            {
                Get(_originalClaimed, key).TrySetResult();
                return;
            }

            var first = Get(_copyClaimed, key).TrySetResult();
            if (first && key[^1] % 2 == 1)
            {
                // An odd copy keeps its claim in flight until its original has claimed too (or gave up waiting).
                await Get(_originalClaimed, key).Task.WaitAsync(s_wait).ContinueWith(static _ => { }, TaskScheduler.Default);
            }
        }

        private static string? Key(HttpContext context) =>
            HttpMethods.IsPost(context.Request.Method) && context.Request.Path == "/payments" ? context.Request.Headers["Idempotency-Key"].ToString() : null;

        private static TaskCompletionSource Get(ConcurrentDictionary<string, TaskCompletionSource> map, string key) =>
            map.GetOrAdd(key, static _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
    }

    private sealed class Instance : IAsyncDisposable
    {
        private readonly ConcurrentQueue<(string Line, string? Marker)> _requests = new();
        private readonly SemaphoreSlim _arrived = new(0);

        public LoopbackApp App { get; set; } = null!;

        public IReadOnlyList<(string Line, string? Marker)> Requests => [.. _requests];

        public void Record(HttpRequest request)
        {
            var marker = request.Headers.TryGetValue(MirrorTestApp.Marker, out var value) ? value.ToString() : null;
            _requests.Enqueue(($"{request.Method} {request.Path}{request.QueryString}", marker));
            _arrived.Release();
        }

        public async Task WaitForRequestAsync(string line, TimeSpan timeout)
        {
            using var cancellation = new CancellationTokenSource(timeout);
            while (!_requests.Any(r => r.Line == line))
            {
                await _arrived.WaitAsync(cancellation.Token);
            }
        }

        public async ValueTask DisposeAsync()
        {
            await App.DisposeAsync();
            _arrived.Dispose();
        }
    }
}
