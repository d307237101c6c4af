using System.Net;
using System.Runtime.CompilerServices;
using Idempotency.AspNetCore.Deduplication;
using Idempotency.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Idempotency.AspNetCore.Tests.Deduplication;

/// <summary>
/// Once a response has started, its effect is presumed applied: the key is never released, retries are told the
/// outcome is unknown, and the handler never runs twice.
/// </summary>
public sealed class StartedResponseTests
{
    [Fact]
    public async Task ExceptionAfterTheResponseStarted_CompletesAsOutcomeUnknown_AndNeverRunsTheHandlerAgain()
    {
        var executions = 0;
        await using var app = await TestApp.StartAsync(e => e.MapPost("/pay", async (HttpContext context) =>
        {
            Interlocked.Increment(ref executions);
            context.Response.StatusCode = StatusCodes.Status201Created;
            await context.Response.WriteAsync("{\"id\":");
            await context.Response.Body.FlushAsync();
            throw new InvalidOperationException("serializer failed mid-body");
        }).RequireIdempotency());

        await SendIgnoringAbortAsync(app, TestApp.Post("/pay", "k"));
        var retry = await app.SendAsync(TestApp.Post("/pay", "k"));
        var again = await app.SendAsync(TestApp.Post("/pay", "k"));

        var problem = await ProblemAssert.IsProblemAsync(retry, HttpStatusCode.InternalServerError, IdempotencyProblemTypes.OutcomeUnknown);
        Assert.Equal(201, problem.GetProperty("originalStatus").GetInt32());
        await ProblemAssert.IsProblemAsync(again, HttpStatusCode.InternalServerError, IdempotencyProblemTypes.OutcomeUnknown);
        Assert.Equal(1, executions);
    }

    [Fact]
    public async Task ABodyShorterThanItsContentLength_IsNotReplayed_AndTheHandlerNeverRunsAgain()
    {
        // What a stream or file result does when its client goes away (it stops writing and returns as if done), or a
        // handler that declares more than it writes: stored, that body would break every retry the same way.
        var executions = 0;
        await using var app = await TestApp.StartAsync(e => e.MapPost("/export", async (HttpContext context) =>
        {
            Interlocked.Increment(ref executions);
            context.Response.ContentLength = 100;
            await context.Response.Body.WriteAsync(new byte[40]);
        }).RequireIdempotency());

        await SendIgnoringAbortAsync(app, TestApp.Post("/export", "k"));
        var retry = await app.SendAsync(TestApp.Post("/export", "k"));

        var problem = await ProblemAssert.IsProblemAsync(retry, HttpStatusCode.InternalServerError, IdempotencyProblemTypes.OutcomeUnknown);
        Assert.Equal(200, problem.GetProperty("originalStatus").GetInt32());
        Assert.Equal(1, executions);
    }

    [Fact]
    public async Task FailingAsyncEnumerable_AfterItsFirstItemsWereSent_NeverRunsAgain()
    {
        var executions = 0;
        await using var app = await TestApp.StartAsync(e => e.MapPost("/entries", () =>
        {
            Interlocked.Increment(ref executions);
            return Entries();
        }).RequireIdempotency());

        await SendIgnoringAbortAsync(app, TestApp.Post("/entries", "k"));
        var retry = await app.SendAsync(TestApp.Post("/entries", "k"));

        await ProblemAssert.IsProblemAsync(retry, HttpStatusCode.InternalServerError, IdempotencyProblemTypes.OutcomeUnknown);
        Assert.Equal(1, executions);

        static async IAsyncEnumerable<string> Entries([EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            yield return new string('a', 64 * 1024); // larger than the serializer's buffer: it is flushed to the client
            await Task.Yield();
            yield return "b";
            throw new InvalidOperationException("the enumeration failed after the response started");
        }
    }

    [Fact]
    public async Task HandlerThatCompletesTheResponseAndThenThrows_NeverRunsAgain()
    {
        var executions = 0;
        await using var app = await TestApp.StartAsync(e => e.MapPost("/pay", async (HttpContext context) =>
        {
            Interlocked.Increment(ref executions);
            await context.Response.WriteAsync("paid");
            await context.Response.CompleteAsync();
            throw new InvalidOperationException("cleanup after the response failed");
        }).RequireIdempotency());

        await SendIgnoringAbortAsync(app, TestApp.Post("/pay", "k"));
        var retry = await app.SendAsync(TestApp.Post("/pay", "k"));

        await ProblemAssert.IsProblemAsync(retry, HttpStatusCode.InternalServerError, IdempotencyProblemTypes.OutcomeUnknown);
        Assert.Equal(1, executions);
    }

    [Fact]
    public async Task ExceptionBeforeTheResponseStarted_StillReleasesTheKey()
    {
        var executions = 0;
        await using var app = await TestApp.StartAsync(e => e.MapPost("/pay", (HttpContext context) =>
        {
            context.Response.StatusCode = StatusCodes.Status201Created; // a status alone does not start the response
            return Interlocked.Increment(ref executions) == 1 ? throw new InvalidOperationException("transient") : Results.Ok("ran");
        }).RequireIdempotency());

        await SendIgnoringAbortAsync(app, TestApp.Post("/pay", "k"));
        var retry = await app.SendAsync(TestApp.Post("/pay", "k"));

        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.Equal(2, executions);
    }

    [Fact]
    public async Task ExceptionAfterBytesWereCommittedButNeverFlushed_StillReleasesTheKey()
    {
        // Bytes committed to Response.BodyWriter wait in the writer until a flush: none reached the client, so the
        // failure is as transient as one before any write (a serializer that throws half-way through a small body).
        var executions = 0;
        await using var app = await TestApp.StartAsync(e => e.MapPost("/pay", async (HttpContext context) =>
        {
            if (Interlocked.Increment(ref executions) == 1)
            {
                "{\"id\":"u8.CopyTo(context.Response.BodyWriter.GetSpan(6));
                context.Response.BodyWriter.Advance(6);
                throw new InvalidOperationException("serializer failed before its first flush");
            }

            await context.Response.WriteAsync("ran");
        }).RequireIdempotency());

        await SendIgnoringAbortAsync(app, TestApp.Post("/pay", "k"));
        var retry = await app.SendAsync(TestApp.Post("/pay", "k"));

        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.Equal("ran", await retry.Content.ReadAsStringAsync());
        Assert.Equal(2, executions);
    }

    [Fact]
    public async Task ShouldStoreResponseThatThrows_CompletesTheKey_InsteadOfLeavingItInFlight()
    {
        var executions = 0;
        await using var app = await TestApp.StartAsync(
            e => e.MapPost("/pay", () => $"paid {Interlocked.Increment(ref executions)}").RequireIdempotency(),
            o => o.ShouldStoreResponse = _ => throw new InvalidOperationException("predicate bug"));

        var first = await app.SendAsync(TestApp.Post("/pay", "k"));
        var retry = await app.SendAsync(TestApp.Post("/pay", "k"));

        Assert.Equal("paid 1", await first.Content.ReadAsStringAsync());
        await ProblemAssert.IsProblemAsync(retry, HttpStatusCode.InternalServerError, IdempotencyProblemTypes.OutcomeUnknown);
        Assert.Equal(1, executions);
    }

    [Fact]
    public async Task ResponseWhoseEncodingFails_CompletesTheKey_InsteadOfLeavingItInFlight()
    {
        var executions = 0;
        await using var app = await TestApp.StartAsync(e => e.MapPost("/pay", (HttpContext context) =>
        {
            Interlocked.Increment(ref executions);
            for (var i = 0; i < ushort.MaxValue + 1; i++)
            {
                context.Response.Headers.Append("X-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), "v"); // more headers than the record format can hold
            }

            return "paid";
        }).RequireIdempotency());

        await SendIgnoringAbortAsync(app, TestApp.Post("/pay", "k"));
        var retry = await app.SendAsync(TestApp.Post("/pay", "k"));

        await ProblemAssert.IsProblemAsync(retry, HttpStatusCode.InternalServerError, IdempotencyProblemTypes.OutcomeUnknown);
        Assert.Equal(1, executions);
    }

    [Theory]
    [InlineData("status")]
    [InlineData("header-name")]
    [InlineData("header-value")]
    public async Task ForgedOrCorruptRecord_IsAnswered503_NeverA500(string corruption)
    {
        await using var app = await TestApp.StartAsync(e => e.MapPost("/pay", () => "ran").RequireIdempotency());
        var store = app.Services.GetRequiredService<IIdempotencyStore>();
        // Forge the record that the middleware will find for (alice, "k"): claim it as the store would, then complete it
        // with a payload that decodes structurally but holds a value no HTTP response can carry.
        var storageKey = IdempotencyStorageKey.Create(TestApp.AliceScope, "k");
        var fingerprint = await FingerprintOfAsync(store, "k");
        var owner = OwnerTokens.Create();
        await store.ClaimAsync(new IdempotencyClaimRequest(storageKey, fingerprint, owner, TimeSpan.FromMinutes(1)), default);
        var forged = corruption switch
        {
            "status" => Forge(42, "Content-Type", "text/plain"),
            "header-name" => Forge(200, "Bad Name", "v"),
            _ => Forge(200, "Location", "/p/1\r\nSet-Cookie: session=stolen"),
        };
        await store.CompleteAsync(new IdempotencyCompleteRequest(storageKey, owner, forged, TimeSpan.FromMinutes(1)), default);

        var response = await app.SendAsync(TestApp.Post("/pay", "k"));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.ServiceUnavailable, IdempotencyProblemTypes.StoreUnavailable);
        Assert.False(response.Headers.Contains("Set-Cookie"));
    }

    // The fingerprint the middleware computes for TestApp.Post("/pay", key): taken from a real completed record.
    private static async Task<byte[]> FingerprintOfAsync(IIdempotencyStore store, string key)
    {
        var recorder = new FingerprintRecorder(store);
        await using var recording = await TestApp.StartAsync(
            e => e.MapPost("/pay", () => "ran").RequireIdempotency(),
            services: s => s.AddSingleton<IIdempotencyStore>(recorder));
        await recording.SendAsync(TestApp.Post("/pay", key));
        return recorder.Last!;
    }

    private static byte[] Forge(short status, string headerName, string headerValue)
    {
        var name = System.Text.Encoding.UTF8.GetBytes(headerName);
        var value = System.Text.Encoding.UTF8.GetBytes(headerValue);
        using var stream = new MemoryStream();
        using var writer = new BinaryWriter(stream);
        writer.Write((byte)1); // format version
        writer.Write((byte)1); // HTTP response
        writer.Write(System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(status));
        writer.Write((byte)0); // flags
        writer.Write(System.Buffers.Binary.BinaryPrimitives.ReverseEndianness((ushort)1));
        writer.Write(System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(name.Length));
        writer.Write(name);
        writer.Write(System.Buffers.Binary.BinaryPrimitives.ReverseEndianness((ushort)1));
        writer.Write(System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(value.Length));
        writer.Write(value);
        writer.Write(System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(0)); // empty body
        writer.Flush();
        return stream.ToArray();
    }

    private static async Task SendIgnoringAbortAsync(TestApp app, HttpRequestMessage request)
    {
        try
        {
            using var response = await app.SendAsync(request);
            await response.Content.ReadAsByteArrayAsync();
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or InvalidOperationException)
        {
            // The server aborted the response it had started: what a client sees when a handler fails mid-body.
        }
    }

    private sealed class FingerprintRecorder(IIdempotencyStore inner) : IIdempotencyStore
    {
        public byte[]? Last { get; private set; }

        public ValueTask<IdempotencyClaimResult> ClaimAsync(IdempotencyClaimRequest request, CancellationToken cancellationToken)
        {
            Last ??= request.Fingerprint.ToArray(); // the first claim: the current fingerprint, not the v1 fallback
            return ValueTask.FromResult(IdempotencyClaimResult.FingerprintMismatch()); // record nothing in the shared store
        }

        public ValueTask<CompletionStatus> CompleteAsync(IdempotencyCompleteRequest request, CancellationToken cancellationToken) => inner.CompleteAsync(request, cancellationToken);

        public ValueTask<bool> ReleaseAsync(string key, string ownerToken, CancellationToken cancellationToken) => inner.ReleaseAsync(key, ownerToken, cancellationToken);
    }
}
