using System.IO.Compression;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Idempotency.AspNetCore.Deduplication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Idempotency.AspNetCore.Tests.Deduplication;

/// <summary>
/// Edge cases of the response capture and the buffered request body, over real Kestrel and a real
/// <see cref="HttpClient"/>: the handler sees what it would see without the middleware, the client gets what was
/// stored, and the key is kept only when something may have reached the client.
/// </summary>
public sealed class CaptureEdgeCaseTests
{
    /// <summary>Whether the response streams to the client or is held back until a unit-of-work store commits.</summary>
    public enum Mode
    {
        Streaming,
        Held,
    }

    [Theory]
    [InlineData(Mode.Streaming)]
    [InlineData(Mode.Held)]
    public async Task HandlerThatDisposesResponseBody_ItsBodyIsStillSentAndReplayed(Mode mode)
    {
        // A StreamWriter without leaveOpen disposes Response.Body when it is disposed; on plain Kestrel that is
        // harmless, and the body it wrote was sent. It must be sent and stored here too, never returned to the pool.
        var executions = 0;
        await using var app = await KestrelApp.StartAsync(mode, async context =>
        {
            var n = Interlocked.Increment(ref executions);
            context.Response.ContentType = "text/plain";
            await using var writer = new StreamWriter(context.Response.Body);
            await writer.WriteAsync("paid " + n);
        });

        using var first = await app.PostAsync("k");
        using var replay = await app.PostAsync("k");

        Assert.Equal(1, executions);
        Assert.Equal("paid 1", await first.Content.ReadAsStringAsync());
        await AssertReplayOfAsync(first, replay);
    }

    [Fact]
    public async Task SynchronousWriteTheServerRefuses_SendsNothing_SoTheKeyIsReleased()
    {
        // Kestrel refuses a synchronous write (AllowSynchronousIO is off) before anything leaves: the failure is as
        // transient as one before any write, and a retry must run the handler again, not be told "outcome unknown".
        var executions = 0;
        await using var app = await KestrelApp.StartAsync(Mode.Streaming, async context =>
        {
            if (Interlocked.Increment(ref executions) == 1)
            {
                context.Response.Body.Write("{\"id\":1}"u8);
                return;
            }

            await context.Response.WriteAsync("ran");
        });

        using var failed = await app.PostAsync("k");
        using var retry = await app.PostAsync("k");

        Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.Equal("ran", await retry.Content.ReadAsStringAsync());
        Assert.Equal(2, executions);
    }

    [Theory]
    [InlineData(Mode.Streaming)]
    [InlineData(Mode.Held)]
    public async Task BeginWrite_IsAnAsynchronousWrite_SentAndReplayed(Mode mode)
    {
        // Kestrel's response stream runs BeginWrite as WriteAsync, so it works with AllowSynchronousIO off; Stream's
        // own BeginWrite runs the synchronous Write, which Kestrel refuses.
        var executions = 0;
        await using var app = await KestrelApp.StartAsync(mode, async context =>
        {
            var body = Encoding.UTF8.GetBytes("paid " + Interlocked.Increment(ref executions));
            await Task.Factory.FromAsync(context.Response.Body.BeginWrite, context.Response.Body.EndWrite, body, 0, body.Length, null);
        });

        using var first = await app.PostAsync("k");
        using var replay = await app.PostAsync("k");

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("paid 1", await first.Content.ReadAsStringAsync());
        await AssertReplayOfAsync(first, replay);
    }

    [Theory]
    [InlineData(Mode.Streaming)]
    [InlineData(Mode.Held)]
    public async Task BodyWriterContractEdges_ReachTheClientAndTheReplayAsCommitted(Mode mode)
    {
        // Pins the GetMemory/Advance contract: Advance(0), two leases without an Advance (only the last one's bytes
        // count), a lease far larger than the writer's segments, several Advances into one lease, then a stream write.
        var large = new string('x', 100_000);
        await using var app = await KestrelApp.StartAsync(mode, async context =>
        {
            var writer = context.Response.BodyWriter;
            writer.GetSpan(16)[0] = (byte)'!';
            writer.Advance(0);
            "never"u8.CopyTo(writer.GetSpan(16));
            var span = writer.GetSpan(large.Length + 16);
            Encoding.UTF8.GetBytes("[" + large + "]", span);
            writer.Advance(1);
            writer.Advance(large.Length + 1);
            await context.Response.Body.WriteAsync("[stream]"u8.ToArray());
            await writer.FlushAsync();
        });

        using var first = await app.PostAsync("k");
        using var replay = await app.PostAsync("k");

        Assert.Equal("[" + large + "][stream]", await first.Content.ReadAsStringAsync());
        await AssertReplayOfAsync(first, replay);
    }

    [Fact]
    public async Task RequestBody_ReadThroughBodyAndBodyReaderInTurn_SharesOnePosition_AndRewinds()
    {
        // Pins the buffered request body: the reader and the stream read one position, examined past consumed keeps
        // the unconsumed bytes, EnableBuffering and a rewind read it again, as Kestrel's body does after EnableBuffering.
        await using var app = await KestrelApp.StartAsync(Mode.Streaming, async context =>
        {
            context.Request.EnableBuffering();
            var reader = context.Request.BodyReader;
            var result = await reader.ReadAsync();
            var head = Encoding.UTF8.GetString(result.Buffer.Slice(0, 3));
            reader.AdvanceTo(result.Buffer.GetPosition(3), result.Buffer.End);
            var middle = new byte[4];
            await context.Request.Body.ReadExactlyAsync(middle);
            result = await reader.ReadAsync();
            var tail = Encoding.UTF8.GetString(result.Buffer);
            reader.AdvanceTo(result.Buffer.End);
            context.Request.Body.Position = 0;
            using var again = new StreamReader(context.Request.Body);
            await context.Response.WriteAsync(head + "|" + Encoding.UTF8.GetString(middle) + "|" + tail + "|" + await again.ReadToEndAsync());
        });

        using var first = await app.PostAsync("k");

        Assert.Equal("{\"a|moun|t\":100}|{\"amount\":100}", await first.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task CompressedRequestBody_DecompressedOutside_ReachesTheHandlerWhole_AndIsFingerprintedWhole()
    {
        // Request decompression outside UseIdempotency() replaces the body and leaves the client's Content-Length,
        // the compressed length. The handler must read the whole decompressed body, as it does without this
        // middleware, and a body that differs past the first Content-Length bytes is another request (a 422).
        var memo = new string('a', 10_000);
        await using var app = await KestrelApp.StartAsync(
            Mode.Streaming,
            async context =>
            {
                using var reader = new StreamReader(context.Request.Body);
                await context.Response.WriteAsync((await reader.ReadToEndAsync()).Length.ToString(CultureInfo.InvariantCulture));
            },
            outside: app => app.UseRequestDecompression(),
            services: services => services.AddRequestDecompression());

        var json = "{\"memo\":\"" + memo + "\"}";
        using var first = await app.PostAsync("k", await GzipJsonAsync(json));
        using var reused = await app.PostAsync("k", await GzipJsonAsync("{\"memo\":\"" + memo + "b\"}"));

        Assert.Equal(json.Length.ToString(CultureInfo.InvariantCulture), await first.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.UnprocessableEntity, reused.StatusCode);
    }

    [Fact]
    public async Task CompressedRequestBody_ThatDecompressesPastThePooledLimit_GoesThroughRequestBuffering_Whole()
    {
        // A few kilobytes on the wire that decompress to 2 MB: the pooled buffer must not grow with it (a small compressed
        // request would otherwise hold megabytes of pooled memory each). Past the pooled limit the body, with what was
        // already read of it, goes through ASP.NET Core's request buffering, which spills to a temporary file.
        var memo = new string('a', 2_000_000);
        await using var app = await KestrelApp.StartAsync(
            Mode.Streaming,
            async context =>
            {
                var spilled = context.Request.Body is FileBufferingReadStream { InMemory: false };
                using var reader = new StreamReader(context.Request.Body);
                var body = await reader.ReadToEndAsync();
                await context.Response.WriteAsync(string.Create(CultureInfo.InvariantCulture, $"{body.Length} {spilled} {body.EndsWith("a\"}", StringComparison.Ordinal)}"));
            },
            outside: app => app.UseRequestDecompression(),
            services: services => services.AddRequestDecompression());

        var json = "{\"memo\":\"" + memo + "\"}";
        using var first = await app.PostAsync("k", await GzipJsonAsync(json));
        using var replay = await app.PostAsync("k", await GzipJsonAsync(json));
        using var reused = await app.PostAsync("k", await GzipJsonAsync("{\"memo\":\"" + memo + "b\"}"));

        Assert.Equal($"{json.Length} True True", await first.Content.ReadAsStringAsync());
        await AssertReplayOfAsync(first, replay);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, reused.StatusCode); // the whole body is fingerprinted
    }

    private static async Task<HttpContent> GzipJsonAsync(string json)
    {
        using var compressed = new MemoryStream();
        await using (var gzip = new GZipStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        {
            await gzip.WriteAsync(Encoding.UTF8.GetBytes(json));
        }

        var content = new ByteArrayContent(compressed.ToArray());
        content.Headers.ContentType = MediaTypeHeaderValue.Parse("application/json");
        content.Headers.ContentEncoding.Add("gzip");
        return content;
    }

    private static async Task AssertReplayOfAsync(HttpResponseMessage first, HttpResponseMessage replay)
    {
        Assert.False(first.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal("true", Assert.Single(replay.Headers.GetValues("Idempotent-Replayed")));
        Assert.Equal(first.StatusCode, replay.StatusCode);
        Assert.Equal(first.Content.Headers.ContentType?.ToString(), replay.Content.Headers.ContentType?.ToString());
        Assert.Equal(await first.Content.ReadAsByteArrayAsync(), await replay.Content.ReadAsByteArrayAsync());
    }

    /// <summary>A Kestrel app on 127.0.0.1 with one idempotent endpoint, <c>POST /pay</c>, streaming or held back.</summary>
    private sealed class KestrelApp : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly HttpClient _client;
        private readonly SemaphoreSlim _finished;

        private KestrelApp(WebApplication app, HttpClient client, SemaphoreSlim finished)
        {
            _app = app;
            _client = client;
            _finished = finished;
        }

        public static async Task<KestrelApp> StartAsync(
            Mode mode,
            RequestDelegate handler,
            Action<WebApplication>? outside = null,
            Action<IServiceCollection>? services = null)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            builder.Services.AddIdempotency();
            services?.Invoke(builder.Services);

            var app = builder.Build();

            // The client can read the last byte before the server has stored the record: each post waits for the
            // server to finish the request, so the next one never races the store of this one.
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
            outside?.Invoke(app);
            app.UseRouting();
            app.UseIdempotency();
            var endpoint = app.MapPost("/pay", handler).RequireIdempotency();
            if (mode == Mode.Held)
            {
                endpoint.WithMetadata(new HeldResponseProvider());
            }

            await app.StartAsync();
            var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
            return new KestrelApp(app, new HttpClient { BaseAddress = new Uri(address) }, finished);
        }

        /// <summary>Posts to <c>/pay</c> with the key and a small JSON body (or <paramref name="content"/>).</summary>
        public async Task<HttpResponseMessage> PostAsync(string key, HttpContent? content = null)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/pay")
            {
                Content = content ?? new StringContent("{\"amount\":100}", MediaTypeHeaderValue.Parse("application/json")),
            };
            request.Headers.Add("Idempotency-Key", key);
            var response = await _client.SendAsync(request);
            await response.Content.LoadIntoBufferAsync();
            await _finished.WaitAsync();
            return response;
        }

        public async ValueTask DisposeAsync()
        {
            _client.Dispose();
            await _app.DisposeAsync();
            _finished.Dispose();
        }
    }

    /// <summary>A request store over one shared in-memory store: the response is held back until the commit.</summary>
    private sealed class HeldResponseProvider : IIdempotencyRequestStoreProvider
    {
        private readonly InMemoryIdempotencyStore _shared = new(Options.Create(new InMemoryIdempotencyStoreOptions()), TimeProvider.System);

        public ValueTask<IIdempotencyUnitOfWorkStore> CreateStoreAsync(HttpContext context, CancellationToken cancellationToken) =>
            ValueTask.FromResult<IIdempotencyUnitOfWorkStore>(new RequestStore(_shared));

        private sealed class RequestStore(InMemoryIdempotencyStore shared) : IIdempotencyUnitOfWorkStore
        {
            public ValueTask<IdempotencyClaimResult> ClaimAsync(IdempotencyClaimRequest request, CancellationToken cancellationToken) =>
                shared.ClaimAsync(request, cancellationToken);

            public ValueTask<CompletionStatus> CompleteAsync(IdempotencyCompleteRequest request, CancellationToken cancellationToken) =>
                shared.CompleteAsync(request, cancellationToken);

            public ValueTask<bool> ReleaseAsync(string key, string ownerToken, CancellationToken cancellationToken) =>
                shared.ReleaseAsync(key, ownerToken, cancellationToken);

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }
}
