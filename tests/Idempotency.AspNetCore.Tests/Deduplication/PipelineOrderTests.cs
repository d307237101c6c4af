using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Idempotency.AspNetCore.Deduplication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.OutputCaching;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Idempotency.AspNetCore.Tests.Deduplication;

/// <summary>
/// Response compression, the exception handler, status-code pages and output caching, each registered before
/// (outside) or after (inside) <c>UseIdempotency()</c>, over real Kestrel and a real <see cref="HttpClient"/> with
/// automatic decompression on and off: a replay decodes to exactly the body of the first response.
/// </summary>
public sealed class PipelineOrderTests
{
    private const string ExceptionPage = "the handler failed";

    /// <summary>Which of the four middlewares are registered before <c>UseIdempotency()</c>; the others come after it.</summary>
    [Flags]
    public enum Outside
    {
        None = 0,
        Compression = 1,
        ExceptionHandler = 2,
        StatusCodePages = 4,
        OutputCache = 8,
        All = Compression | ExceptionHandler | StatusCodePages | OutputCache,
    }

    public static TheoryData<Outside, bool> EveryOrder()
    {
        var data = new TheoryData<Outside, bool>();
        for (var outside = Outside.None; outside <= Outside.All; outside++)
        {
            data.Add(outside, true);
            data.Add(outside, false);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(EveryOrder))]
    public async Task Replay_DecodesToTheFirstResponse_WhateverTheOrderOfTheMiddlewareAroundIt(Outside outside, bool automaticDecompression)
    {
        var executions = 0;
        await using var app = await OrderedApp.StartAsync(outside, automaticDecompression, e => e.MapPost("/pay", async (HttpContext context) =>
        {
            var n = Interlocked.Increment(ref executions);
            context.Response.StatusCode = StatusCodes.Status201Created;
            context.Response.ContentType = "application/json";
            context.Response.Headers.Location = "/payments/" + n;
            await context.Response.WriteAsync(PaymentJson(n));
        }).RequireIdempotency().CacheOutput());

        using var first = await app.PostAsync("/pay", "k");
        using var replay = await app.PostAsync("/pay", "k");

        Assert.Equal(1, executions);
        if (!automaticDecompression)
        {
            // What the client received was compressed (in either order): the test exercises the encoding.
            Assert.Equal("gzip", Assert.Single(first.Content.Headers.ContentEncoding));
        }

        Assert.Equal(PaymentJson(1), Encoding.UTF8.GetString(await DecodedBodyAsync(first)));
        await AssertReplayOfAsync(first, replay);
        Assert.Equal("/payments/1", replay.Headers.Location?.OriginalString);
    }

    [Theory]
    [MemberData(nameof(EveryOrder))]
    public async Task Replay_OfAnEmpty404_EqualsTheFirstResponse_WhateverTheOrderOfTheMiddlewareAroundIt(Outside outside, bool automaticDecompression)
    {
        var executions = 0;
        await using var app = await OrderedApp.StartAsync(outside, automaticDecompression, e => e.MapPost("/orders/{id}/cancel", (HttpContext context) =>
        {
            Interlocked.Increment(ref executions);
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        }).RequireIdempotency().CacheOutput());

        using var first = await app.PostAsync("/orders/7/cancel", "k");
        using var replay = await app.PostAsync("/orders/7/cancel", "k");

        Assert.Equal(1, executions);
        Assert.Equal(HttpStatusCode.NotFound, first.StatusCode);
        Assert.Contains("404", Encoding.UTF8.GetString(await DecodedBodyAsync(first)), StringComparison.Ordinal); // the status-code page
        await AssertReplayOfAsync(first, replay);
    }

    [Theory]
    [MemberData(nameof(EveryOrder))]
    public async Task HandlerThatThrows_ReleasesTheKey_AndTheRetrysResponseReplays_WhateverTheOrderOfTheMiddlewareAroundIt(Outside outside, bool automaticDecompression)
    {
        var executions = 0;
        await using var app = await OrderedApp.StartAsync(outside, automaticDecompression, e => e.MapPost("/pay", async (HttpContext context) =>
        {
            var n = Interlocked.Increment(ref executions);
            if (n == 1)
            {
                throw new InvalidOperationException("the ledger is locked");
            }

            context.Response.StatusCode = StatusCodes.Status201Created;
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(PaymentJson(n));
        }).RequireIdempotency().CacheOutput());

        using var failed = await app.PostAsync("/pay", "k");
        using var retry = await app.PostAsync("/pay", "k");
        using var replay = await app.PostAsync("/pay", "k");

        Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
        Assert.Equal(ExceptionPage, Encoding.UTF8.GetString(await DecodedBodyAsync(failed)));
        Assert.False(failed.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(2, executions);
        Assert.Equal(PaymentJson(2), Encoding.UTF8.GetString(await DecodedBodyAsync(retry)));
        await AssertReplayOfAsync(retry, replay);
    }

    public static TheoryData<Outside, bool, bool> EveryOrderStreamingAndHeld()
    {
        var data = new TheoryData<Outside, bool, bool>();
        for (var outside = Outside.None; outside <= Outside.All; outside++)
        {
            foreach (var automaticDecompression in new[] { true, false })
            {
                data.Add(outside, automaticDecompression, false);
                data.Add(outside, automaticDecompression, true);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(EveryOrderStreamingAndHeld))]
    public async Task WritesThroughEveryApi_ReachTheClientAndTheReplayInTheHandlersOrder_WhateverTheOrderOfTheMiddlewareAroundIt(
        Outside outside, bool automaticDecompression, bool heldForAUnitOfWork)
    {
        // Bytes committed to Response.BodyWriter and not flushed, then a write to Response.Body: the stream's bytes must
        // not overtake the writer's, on the wire or in the stored body, even where the writer outside buffers in front of
        // its stream (response compression), and when a unit-of-work store holds the whole response until its commit
        // (the held body used to take the stream's bytes at once and the writer's only when flushed). The last span is
        // never flushed by the handler. Response compression registered inside (between this middleware and the
        // handler) reorders them itself, as it does in an app without this middleware: there the replay must still
        // equal the first response.
        var file = Path.GetTempFileName();
        await File.WriteAllTextAsync(file, "[file]");
        try
        {
            var provider = new HeldResponseProvider();
            await using var app = await OrderedApp.StartAsync(outside, automaticDecompression, e =>
            {
                var endpoint = e.MapPost("/pay", async (HttpContext context) =>
                {
                    var writer = context.Response.BodyWriter;
                    "[span-1]"u8.CopyTo(writer.GetSpan(8));
                    writer.Advance(8);
                    await context.Response.Body.WriteAsync("[stream]"u8.ToArray());
                    "[span-2]"u8.CopyTo(writer.GetSpan(8));
                    writer.Advance(8);
                    await context.Response.SendFileAsync(file);
                    "[span-3]"u8.CopyTo(writer.GetSpan(8));
                    writer.Advance(8);
                }).RequireIdempotency().CacheOutput();
                if (heldForAUnitOfWork)
                {
                    endpoint.WithMetadata(provider);
                }
            });

            using var first = await app.PostAsync("/pay", "k");
            using var replay = await app.PostAsync("/pay", "k");

            Assert.Equal(heldForAUnitOfWork ? 1 : 0, provider.Completions);
            if (outside.HasFlag(Outside.Compression))
            {
                Assert.Equal("[span-1][stream][span-2][file][span-3]", Encoding.UTF8.GetString(await DecodedBodyAsync(first)));
            }

            await AssertReplayOfAsync(first, replay);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [MemberData(nameof(EveryOrder))]
    public async Task HeaderSetAfterBytesWereCommitted_ButBeforeTheFlush_IsReplayed_WhateverTheOrderOfTheMiddlewareAroundIt(Outside outside, bool automaticDecompression)
    {
        // The server starts the response at the first flush, not when the body writer leases memory or commits bytes:
        // a header set in between reaches the client, so the replay must carry it too.
        await using var app = await OrderedApp.StartAsync(outside, automaticDecompression, e => e.MapPost("/pay", async (HttpContext context) =>
        {
            context.Response.StatusCode = StatusCodes.Status201Created;
            var writer = context.Response.BodyWriter;
            "{\"paid\":true}"u8.CopyTo(writer.GetSpan(13));
            writer.Advance(13);
            context.Response.Headers["X-Receipt"] = "r-1";
            await writer.FlushAsync();
        }).RequireIdempotency().CacheOutput());

        using var first = await app.PostAsync("/pay", "k");
        using var replay = await app.PostAsync("/pay", "k");

        Assert.Equal("r-1", Assert.Single(first.Headers.GetValues("X-Receipt")));
        Assert.Equal("r-1", Assert.Single(replay.Headers.GetValues("X-Receipt")));
        await AssertReplayOfAsync(first, replay);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task HeldResponse_ReplayDecodesToTheFirstResponse_WithCompressionOutside(bool automaticDecompression)
    {
        var provider = new HeldResponseProvider();
        await using var app = await OrderedApp.StartAsync(Outside.All, automaticDecompression, e => e.MapPost("/pay", async (HttpContext context) =>
        {
            context.Response.StatusCode = StatusCodes.Status201Created;
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(PaymentJson(1));
            await context.Response.Body.FlushAsync();
        }).RequireIdempotency().WithMetadata(provider));

        using var first = await app.PostAsync("/pay", "k");
        using var replay = await app.PostAsync("/pay", "k");

        Assert.Equal(1, provider.Completions);
        if (!automaticDecompression)
        {
            Assert.Equal("gzip", Assert.Single(first.Content.Headers.ContentEncoding));
        }

        Assert.Equal(PaymentJson(1), Encoding.UTF8.GetString(await DecodedBodyAsync(first)));
        await AssertReplayOfAsync(first, replay);
    }

    [Theory]
    [InlineData(false, true)]
    [InlineData(false, false)]
    [InlineData(true, true)]
    [InlineData(true, false)]
    public async Task Replay_DecodesToTheFirstResponse_WithCompressionOutside_WhenTheHandlerWritesThroughEveryApi(bool startFirst, bool automaticDecompression)
    {
        var file = Path.GetTempFileName();
        await File.WriteAllTextAsync(file, "[file]");
        try
        {
            var writeThroughEveryApi = ReplayTests.WriteThroughEveryApiAsync(file);
            await using var app = await OrderedApp.StartAsync(Outside.All, automaticDecompression, e => e.MapPost("/pay", async (HttpContext context) =>
            {
                context.Response.ContentType = "text/plain";
                if (startFirst)
                {
                    await context.Response.StartAsync();
                }

                await writeThroughEveryApi(context);
            }).RequireIdempotency());

            using var first = await app.PostAsync("/pay", "k");
            using var replay = await app.PostAsync("/pay", "k");

            if (!automaticDecompression)
            {
                Assert.Equal("gzip", Assert.Single(first.Content.Headers.ContentEncoding));
            }

            Assert.Equal(ReplayTests.WrittenThroughEveryApi, Encoding.UTF8.GetString(await DecodedBodyAsync(first)));
            await AssertReplayOfAsync(first, replay);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Replay_OfAnEmpty404TheHandlerCompleted_EqualsTheFirstResponse_WithStatusCodePagesOutside()
    {
        await using var app = await OrderedApp.StartAsync(Outside.All, automaticDecompression: true, e => e.MapPost("/orders/{id}/cancel", async (HttpContext context) =>
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            await context.Response.CompleteAsync();
        }).RequireIdempotency());

        using var first = await app.PostAsync("/orders/7/cancel", "k");
        using var replay = await app.PostAsync("/orders/7/cancel", "k");

        Assert.Equal(HttpStatusCode.NotFound, first.StatusCode);
        await AssertReplayOfAsync(first, replay);
    }

    [Theory]
    [InlineData(Outside.None)]
    [InlineData(Outside.OutputCache)]
    public async Task PostResponsesCachedByOutputCaching_ReplayTheFirstResponse_AndOnlyUseIdempotencyMarksThemReplayed(Outside outside)
    {
        var executions = 0;
        await using var app = await OrderedApp.StartAsync(outside, automaticDecompression: true, e => e.MapPost("/pay", async (HttpContext context) =>
        {
            var n = Interlocked.Increment(ref executions);
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(PaymentJson(n));
        }).RequireIdempotency().CacheOutput(new CachePostPolicy()));

        using var first = await app.PostAsync("/pay", "k");
        using var retry = await app.PostAsync("/pay", "k");

        Assert.Equal(1, executions);
        Assert.Equal(first.StatusCode, retry.StatusCode);
        Assert.Equal(PaymentJson(1), Encoding.UTF8.GetString(await DecodedBodyAsync(retry)));

        // Inside, UseIdempotency answers the retry; outside, the output cache does, before UseIdempotency sees it.
        Assert.Equal(outside == Outside.None, retry.Headers.Contains("Idempotent-Replayed"));
    }

    [Fact]
    public async Task Replay_IsEncodedForTheRetry_WhenCompressionIsOutsideUseIdempotency()
    {
        await using var app = await OrderedApp.StartAsync(Outside.All, automaticDecompression: false, e => e.MapPost("/pay", () => Results.Text(PaymentJson(1), "application/json")).RequireIdempotency());

        using var first = await app.PostAsync("/pay", "k", acceptEncoding: "gzip");
        using var replay = await app.PostAsync("/pay", "k", acceptEncoding: "br");

        Assert.Equal("gzip", Assert.Single(first.Content.Headers.ContentEncoding));
        Assert.Equal("br", Assert.Single(replay.Content.Headers.ContentEncoding));
        await AssertReplayOfAsync(first, replay);
    }

    [Fact]
    public async Task Replay_CarriesTheEncodingTheFirstRequestNegotiated_WhenCompressionIsInsideUseIdempotency()
    {
        await using var app = await OrderedApp.StartAsync(Outside.None, automaticDecompression: false, e => e.MapPost("/pay", () => Results.Text(PaymentJson(1), "application/json")).RequireIdempotency());

        using var first = await app.PostAsync("/pay", "k", acceptEncoding: "gzip");
        using var replay = await app.PostAsync("/pay", "k", acceptEncoding: "br");

        // Stored after compression: the bytes and their encoding are replayed as they were, whatever the retry accepts.
        Assert.Equal("gzip", Assert.Single(first.Content.Headers.ContentEncoding));
        Assert.Equal("gzip", Assert.Single(replay.Content.Headers.ContentEncoding));
        Assert.Equal(await first.Content.ReadAsByteArrayAsync(), await replay.Content.ReadAsByteArrayAsync());
        await AssertReplayOfAsync(first, replay);
    }

    private static async Task AssertReplayOfAsync(HttpResponseMessage first, HttpResponseMessage replay)
    {
        Assert.False(first.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal("true", Assert.Single(replay.Headers.GetValues("Idempotent-Replayed")));
        Assert.Equal(first.StatusCode, replay.StatusCode);
        Assert.Equal(first.Content.Headers.ContentType?.ToString(), replay.Content.Headers.ContentType?.ToString());
        Assert.Equal(Encoding.UTF8.GetString(await DecodedBodyAsync(first)), Encoding.UTF8.GetString(await DecodedBodyAsync(replay)));
    }

    /// <summary>The body as sent before any Content-Encoding (already decoded when the client decompresses itself).</summary>
    private static async Task<byte[]> DecodedBodyAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsByteArrayAsync();
        foreach (var encoding in response.Content.Headers.ContentEncoding.Reverse())
        {
            await using var decoder = encoding switch
            {
                "gzip" => new GZipStream(new MemoryStream(body), CompressionMode.Decompress),
                "br" => new BrotliStream(new MemoryStream(body), CompressionMode.Decompress),
                "deflate" => (Stream)new ZLibStream(new MemoryStream(body), CompressionMode.Decompress),
                _ => throw new InvalidDataException("Unexpected Content-Encoding " + encoding),
            };
            using var decoded = new MemoryStream();
            await decoder.CopyToAsync(decoded);
            body = decoded.ToArray();
        }

        return body;
    }

    private static string PaymentJson(int n) =>
        "{\"id\":" + n + ",\"status\":\"settled\",\"memo\":\"" + string.Concat(Enumerable.Repeat("rent for flat 4b, ", 40)) + "\"}";

    /// <summary>A Kestrel app on 127.0.0.1 whose middleware sits outside or inside <c>UseIdempotency()</c> as asked.</summary>
    private sealed class OrderedApp : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly HttpClient _client;
        private readonly bool _automaticDecompression;
        private readonly SemaphoreSlim _finished;

        private OrderedApp(WebApplication app, HttpClient client, bool automaticDecompression, SemaphoreSlim finished)
        {
            _app = app;
            _client = client;
            _automaticDecompression = automaticDecompression;
            _finished = finished;
        }

        public static async Task<OrderedApp> StartAsync(Outside outside, bool automaticDecompression, Action<IEndpointRouteBuilder> map)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            builder.Services.AddIdempotency();
            builder.Services.AddResponseCompression();
            builder.Services.AddOutputCache();

            var app = builder.Build();

            // A client can read the last byte of a compressed body before the server has finished the request (a
            // decoder stops at the end of its stream, before the final chunk): each post waits for the server too,
            // so the next request never races the store of this one.
            var finished = new SemaphoreSlim(0);
            app.Use(async (context, next) =>
            {
                try
                {
                    await next(context);
                }
                finally
                {
                    finished.Release();
                }
            });
            UseMiddleware(app, outside, registeringOutside: true);
            app.UseRouting();
            if (outside.HasFlag(Outside.OutputCache))
            {
                app.UseOutputCache(); // after routing: its policies come from the endpoint
            }

            app.UseIdempotency();
            UseMiddleware(app, outside, registeringOutside: false);
            if (!outside.HasFlag(Outside.OutputCache))
            {
                app.UseOutputCache();
            }

            map(app);
            await app.StartAsync();
            var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
            var handler = new SocketsHttpHandler { AutomaticDecompression = automaticDecompression ? DecompressionMethods.All : DecompressionMethods.None };
            return new OrderedApp(app, new HttpClient(handler) { BaseAddress = new Uri(address) }, automaticDecompression, finished);
        }

        /// <summary>Posts with the key; without automatic decompression the client asks for gzip itself (or <paramref name="acceptEncoding"/>).</summary>
        public async Task<HttpResponseMessage> PostAsync(string path, string key, string? acceptEncoding = null)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent("{\"amount\":100}", MediaTypeHeaderValue.Parse("application/json")) };
            request.Headers.Add("Idempotency-Key", key);
            if (acceptEncoding is not null || !_automaticDecompression)
            {
                request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue(acceptEncoding ?? "gzip"));
            }

            var response = await _client.SendAsync(request);
            await _finished.WaitAsync();
            return response;
        }

        public async ValueTask DisposeAsync()
        {
            _client.Dispose();
            await _app.DisposeAsync();
            _finished.Dispose();
        }

        private static void UseMiddleware(WebApplication app, Outside outside, bool registeringOutside)
        {
            if (outside.HasFlag(Outside.ExceptionHandler) == registeringOutside)
            {
                app.UseExceptionHandler(new ExceptionHandlerOptions
                {
                    ExceptionHandler = context =>
                    {
                        context.Response.ContentType = "text/plain";
                        return context.Response.WriteAsync(ExceptionPage);
                    },
                });
            }

            if (outside.HasFlag(Outside.StatusCodePages) == registeringOutside)
            {
                app.UseStatusCodePages(); // text/plain "Status Code: 404; Not Found": no problem-details service here
            }

            if (outside.HasFlag(Outside.Compression) == registeringOutside)
            {
                app.UseResponseCompression();
            }
        }
    }

    /// <summary>An output-cache policy that caches POST responses (the default policy caches only GET and HEAD), one entry per key.</summary>
    private sealed class CachePostPolicy : IOutputCachePolicy
    {
        public ValueTask CacheRequestAsync(OutputCacheContext context, CancellationToken cancellation)
        {
            context.EnableOutputCaching = true;
            context.AllowCacheLookup = true;
            context.AllowCacheStorage = true;
            context.CacheVaryByRules.HeaderNames = "Idempotency-Key";
            return ValueTask.CompletedTask;
        }

        public ValueTask ServeFromCacheAsync(OutputCacheContext context, CancellationToken cancellation) => ValueTask.CompletedTask;

        public ValueTask ServeResponseAsync(OutputCacheContext context, CancellationToken cancellation) => ValueTask.CompletedTask;
    }

    /// <summary>A request store over one shared in-memory store: the response is held back until the commit.</summary>
    private sealed class HeldResponseProvider : IIdempotencyRequestStoreProvider
    {
        private readonly InMemoryIdempotencyStore _shared = new(Options.Create(new InMemoryIdempotencyStoreOptions()), TimeProvider.System);
        private int _completions;

        public int Completions => _completions;

        public ValueTask<IIdempotencyUnitOfWorkStore> CreateStoreAsync(HttpContext context, CancellationToken cancellationToken) =>
            ValueTask.FromResult<IIdempotencyUnitOfWorkStore>(new RequestStore(this));

        private sealed class RequestStore(HeldResponseProvider provider) : IIdempotencyUnitOfWorkStore
        {
            public ValueTask<IdempotencyClaimResult> ClaimAsync(IdempotencyClaimRequest request, CancellationToken cancellationToken) =>
                provider._shared.ClaimAsync(request, cancellationToken);

            public ValueTask<CompletionStatus> CompleteAsync(IdempotencyCompleteRequest request, CancellationToken cancellationToken)
            {
                Interlocked.Increment(ref provider._completions);
                return provider._shared.CompleteAsync(request, cancellationToken);
            }

            public ValueTask<bool> ReleaseAsync(string key, string ownerToken, CancellationToken cancellationToken) =>
                provider._shared.ReleaseAsync(key, ownerToken, cancellationToken);

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }
}
