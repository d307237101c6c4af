using System.Net;
using System.Text;
using Idempotency.AspNetCore.Deduplication;
using Idempotency.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Idempotency.AspNetCore.Tests.Deduplication;

public sealed class ReplayTests
{
    [Fact]
    public async Task Replay_ReturnsOriginalStatusHeadersAndBytes_WithReplayedHeader()
    {
        var executions = 0;
        var body = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        await using var app = await TestApp.StartAsync(e => e.MapPost("/pay", async (HttpContext context) =>
        {
            var n = Interlocked.Increment(ref executions);
            context.Response.StatusCode = StatusCodes.Status201Created;
            context.Response.ContentType = "application/octet-stream";
            context.Response.Headers.Location = "/payments/" + n;
            context.Response.Headers.ETag = "\"v" + n + "\"";
            context.Response.Headers["X-Custom"] = "custom";
            context.Response.Headers.SetCookie = "session=secret";
            await context.Response.Body.WriteAsync(body);
        }).RequireIdempotency());

        var original = await app.SendAsync(TestApp.Post("/pay", "k"));
        var replay = await app.SendAsync(TestApp.Post("/pay", "k"));

        Assert.Equal(1, executions);
        Assert.Equal(HttpStatusCode.Created, replay.StatusCode);
        Assert.Equal(await original.Content.ReadAsByteArrayAsync(), await replay.Content.ReadAsByteArrayAsync());
        Assert.Equal(body, await replay.Content.ReadAsByteArrayAsync());
        Assert.Equal("/payments/1", replay.Headers.Location?.OriginalString);
        Assert.Equal("\"v1\"", replay.Headers.ETag?.ToString());
        Assert.Equal("application/octet-stream", replay.Content.Headers.ContentType?.MediaType);
        Assert.Equal("custom", replay.Headers.GetValues("X-Custom").Single());
        Assert.Equal("true", replay.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.False(original.Headers.Contains("Idempotent-Replayed"));
        Assert.True(original.Headers.Contains("Set-Cookie"));
        Assert.False(replay.Headers.Contains("Set-Cookie"));
    }

    [Fact]
    public async Task AHeaderArrayTheHandlerChangesAfterTheResponseStarted_DoesNotChangeTheReplay()
    {
        // The headers went out with the first write; the stored copy must be what the client got, not the array the
        // application still holds.
        await using var app = await TestApp.StartAsync(e => e.MapPost("/pay", async (HttpContext context) =>
        {
            var timing = new[] { "db;dur=5", "queue;dur=1" };
            context.Response.Headers["Server-Timing"] = timing;
            await context.Response.WriteAsync("paid");
            timing[1] = "render;dur=3";
        }).RequireIdempotency());

        var original = await app.SendAsync(TestApp.Post("/pay", "k"));
        var replay = await app.SendAsync(TestApp.Post("/pay", "k"));

        Assert.Equal(["db;dur=5", "queue;dur=1"], original.Headers.GetValues("Server-Timing"));
        Assert.Equal(["db;dur=5", "queue;dur=1"], replay.Headers.GetValues("Server-Timing"));
        Assert.Equal("true", replay.Headers.GetValues("Idempotent-Replayed").Single());
    }

    [Fact]
    public async Task AHeaderWithNullValues_IsStoredAsSent_WithoutThem()
    {
        // Kestrel writes no line for a null value (X-N: a, X-N: b here). Storing one used to fail after the response
        // had gone out: every retry then got 500 "outcome unknown" instead of the replay.
        await using var app = await TestApp.StartAsync(e => e.MapPost("/pay", async (HttpContext context) =>
        {
            context.Response.Headers["X-N"] = new Microsoft.Extensions.Primitives.StringValues(["a", null, "b"]);
            context.Response.Headers["X-Only-Null"] = new Microsoft.Extensions.Primitives.StringValues([null]);
            await context.Response.WriteAsync("paid");
        }).RequireIdempotency());

        var original = await app.SendAsync(TestApp.Post("/pay", "k"));
        var replay = await app.SendAsync(TestApp.Post("/pay", "k"));

        Assert.Equal(HttpStatusCode.OK, original.StatusCode);
        Assert.Equal(HttpStatusCode.OK, replay.StatusCode);
        Assert.Equal("paid", await replay.Content.ReadAsStringAsync());
        Assert.Equal("true", replay.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(["a", "b"], replay.Headers.GetValues("X-N"));
        Assert.False(replay.Headers.Contains("X-Only-Null"));
    }

    [Fact]
    public async Task Replay_CapturesWhatTheHandlerWroteThroughTheBodyWriter()
    {
        await using var app = await TestApp.StartAsync(e => e.MapPost("/pay", async (HttpContext context) =>
        {
            await context.Response.BodyWriter.WriteAsync(Encoding.UTF8.GetBytes("written with a PipeWriter"));
        }).RequireIdempotency());

        await app.SendAsync(TestApp.Post("/pay", "k"));
        var replay = await app.SendAsync(TestApp.Post("/pay", "k"));

        Assert.Equal("written with a PipeWriter", await replay.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task FirstResponseAndReplay_KeepTheOrderOfWritesThroughTheStreamTheBodyWriterAndSendFile()
    {
        var file = Path.GetTempFileName();
        await File.WriteAllTextAsync(file, "[file]");
        try
        {
            await using var app = await TestApp.StartAsync(e => e.MapPost("/pay", WriteThroughEveryApiAsync(file)).RequireIdempotency());

            var first = await app.SendAsync(TestApp.Post("/pay", "k"));
            var replay = await app.SendAsync(TestApp.Post("/pay", "k"));

            Assert.Equal(WrittenThroughEveryApi, await first.Content.ReadAsStringAsync());
            Assert.Equal(WrittenThroughEveryApi, await replay.Content.ReadAsStringAsync());
            Assert.Equal("true", Assert.Single(replay.Headers.GetValues("Idempotent-Replayed")));
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>What <see cref="WriteThroughEveryApiAsync"/> writes, in order.</summary>
    internal const string WrittenThroughEveryApi = "[stream][span-1][span-2][memory][file]";

    /// <summary>A handler that writes its body through every response API, interleaved: the stream, spans and memory of the body writer, a file.</summary>
    internal static RequestDelegate WriteThroughEveryApiAsync(string file) => async context =>
    {
        await context.Response.Body.WriteAsync("[stream]"u8.ToArray());
        var writer = context.Response.BodyWriter;
        "[span-1]"u8.CopyTo(writer.GetSpan(8));
        writer.Advance(8);
        "[span-2]"u8.CopyTo(writer.GetSpan(64));
        writer.Advance(8);
        await writer.FlushAsync();
        await writer.WriteAsync("[memory]"u8.ToArray());
        await context.Response.SendFileAsync(file);
    };

    [Fact]
    public async Task Replay_ReturnsADeterministicErrorToo()
    {
        var executions = 0;
        await using var app = await TestApp.StartAsync(e => e.MapPost("/withdraw", () =>
        {
            Interlocked.Increment(ref executions);
            return Results.Problem(statusCode: StatusCodes.Status409Conflict, type: "https://bank.example/insufficient-funds");
        }).RequireIdempotency());

        var original = await app.SendAsync(TestApp.Post("/withdraw", "k"));
        var replay = await app.SendAsync(TestApp.Post("/withdraw", "k"));

        Assert.Equal(1, executions);
        Assert.Equal(HttpStatusCode.Conflict, replay.StatusCode);
        Assert.Equal(await original.Content.ReadAsStringAsync(), await replay.Content.ReadAsStringAsync());
        Assert.Contains("insufficient-funds", await replay.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Handler_StillReadsTheWholeBody_AfterItWasFingerprinted()
    {
        await using var app = await TestApp.StartAsync(e => e.MapPost("/echo", async (HttpContext context) =>
        {
            using var reader = new StreamReader(context.Request.Body);
            return await reader.ReadToEndAsync();
        }).RequireIdempotency());
        var large = new string('x', 200_000);

        var response = await app.SendAsync(TestApp.Post("/echo", "k", large));

        Assert.Equal(large, await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(65_536)]
    [InlineData(65_537)]
    public async Task Handler_ReadsTheBodyThroughItsPipeReader_AfterItWasFingerprinted(int size)
    {
        // Bodies up to 64 KiB are held in one pooled buffer, larger ones in ASP.NET Core's request buffer.
        await using var app = await TestApp.StartAsync(e => e.MapPost("/echo", async (HttpContext context) =>
        {
            var result = await context.Request.BodyReader.ReadAtLeastAsync(int.MaxValue);
            var text = Encoding.UTF8.GetString(result.Buffer);
            context.Request.BodyReader.AdvanceTo(result.Buffer.End);
            return text.Length + ":" + text[^1];
        }).RequireIdempotency());
        var body = new string('x', size - 1) + "!";

        var response = await app.SendAsync(TestApp.Post("/echo", "k", body));
        var mismatch = await app.SendAsync(TestApp.Post("/echo", "k", new string('x', size - 1) + "?"));

        Assert.Equal($"{size}:!", await response.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.UnprocessableEntity, mismatch.StatusCode); // the last byte is in the fingerprint
    }

    [Fact]
    public async Task Handler_ReadingThroughTheReaderThenTheStream_ReadsEachByteOnce()
    {
        // The buffered body's pipe reader and stream share one position, as the server's do.
        await using var app = await TestApp.StartAsync(e => e.MapPost("/echo", async (HttpContext context) =>
        {
            var result = await context.Request.BodyReader.ReadAsync();
            var head = Encoding.UTF8.GetString(result.Buffer.Slice(0, 5));
            context.Request.BodyReader.AdvanceTo(result.Buffer.GetPosition(5), result.Buffer.End);
            using var rest = new StreamReader(context.Request.Body);
            return head + "|" + await rest.ReadToEndAsync();
        }).RequireIdempotency());

        var response = await app.SendAsync(TestApp.Post("/echo", "k", "0123456789"));

        Assert.Equal("01234|56789", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Handler_ReadsTheBodyItPutInPlace_ThroughThePipeReader()
    {
        // A body replaced after the middleware buffered the request's (as request decompression would) is what the
        // pipe reader reads, as it is without this middleware.
        await using var app = await TestApp.StartAsync(e => e.MapPost("/echo", async (HttpContext context) =>
        {
            context.Request.Body = new MemoryStream("replaced"u8.ToArray());
            var result = await context.Request.BodyReader.ReadAtLeastAsync(int.MaxValue);
            var text = Encoding.UTF8.GetString(result.Buffer);
            context.Request.BodyReader.AdvanceTo(result.Buffer.End);
            return text;
        }).RequireIdempotency());

        var response = await app.SendAsync(TestApp.Post("/echo", "k", "original"));

        Assert.Equal("replaced", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task SameKey_WithAnotherBody_Gets422_AndTheOriginalKeepsReplaying()
    {
        var executions = 0;
        await using var app = await TestApp.StartAsync(e => e.MapPost("/pay", () => Interlocked.Increment(ref executions)).RequireIdempotency());

        await app.SendAsync(TestApp.Post("/pay", "k", "{\"amount\":100}"));
        var mismatch = await app.SendAsync(TestApp.Post("/pay", "k", "{\"amount\":999}"));
        var replay = await app.SendAsync(TestApp.Post("/pay", "k", "{\"amount\":100}"));

        await ProblemAssert.IsProblemAsync(mismatch, HttpStatusCode.UnprocessableEntity, IdempotencyProblemTypes.KeyReused);
        Assert.True(replay.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(1, executions);
    }

    [Fact]
    public async Task SameKey_OnAnotherEndpointOrQuery_Gets422()
    {
        await using var app = await TestApp.StartAsync(e =>
        {
            e.MapPost("/a", () => "a").RequireIdempotency();
            e.MapPost("/b", () => "b").RequireIdempotency();
        });

        await app.SendAsync(TestApp.Post("/a", "k"));
        var otherEndpoint = await app.SendAsync(TestApp.Post("/b", "k"));
        var otherQuery = await app.SendAsync(TestApp.Post("/a?x=1", "k"));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, otherEndpoint.StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, otherQuery.StatusCode);
    }

    [Fact]
    public async Task LargeResponse_CompletesTheKey_AndRetriesGet410()
    {
        var executions = 0;
        await using var app = await TestApp.StartAsync(
            e => e.MapPost("/report", async (HttpContext context) =>
            {
                Interlocked.Increment(ref executions);
                context.Response.StatusCode = StatusCodes.Status201Created;
                await context.Response.Body.WriteAsync(new byte[4096]);
            }).RequireIdempotency(),
            o => o.MaxStoredBodySize = 1024);

        var original = await app.SendAsync(TestApp.Post("/report", "k"));
        var retry = await app.SendAsync(TestApp.Post("/report", "k"));

        Assert.Equal(4096, (await original.Content.ReadAsByteArrayAsync()).Length);
        var problem = await ProblemAssert.IsProblemAsync(retry, HttpStatusCode.Gone, IdempotencyProblemTypes.ResponseTooLarge);
        Assert.Equal(201, problem.GetProperty("originalStatus").GetInt32());
        Assert.Equal(1, executions);
    }

    [Fact]
    public async Task Feature_ExposesKeyAndScope_AndDerivesStableDownstreamKeys()
    {
        var derived = new List<string>();
        await using var app = await TestApp.StartAsync(e => e.MapPost("/pay", (HttpContext context) =>
        {
            var feature = context.Features.Get<IIdempotencyFeature>()!;
            lock (derived)
            {
                derived.Add($"{feature.Key}|{feature.Scope}|{feature.DeriveKey("charge")}|{feature.DeriveKey("email")}");
            }

            return Results.StatusCode(StatusCodes.Status503ServiceUnavailable); // transient: every retry runs again
        }).RequireIdempotency());

        await app.SendAsync(TestApp.Post("/pay", "k", user: "alice"));
        await app.SendAsync(TestApp.Post("/pay", "k", user: "alice"));
        await app.SendAsync(TestApp.Post("/pay", "k", user: "bob"));

        var parts = derived.Select(d => d.Split('|')).ToArray();
        Assert.Equal(3, parts.Length);
        Assert.Equal(["k", TestApp.AliceScope], parts[0][..2]); // the default scope: issuer-qualified user id
        Assert.Equal(parts[0][2], parts[1][2]);
        Assert.NotEqual(parts[0][2], parts[0][3]);
        Assert.NotEqual(parts[0][2], parts[2][2]);
        Assert.Equal(64, parts[0][2].Length);
    }
}
