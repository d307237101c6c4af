using System.Net;
using System.Net.Http.Json;
using System.Text;
using Microsoft.Extensions.DependencyInjection;

namespace Idempotency.Http.Tests.Client;

/// <summary>
/// The handler re-sends a request after a 409 <c>request-in-flight</c> under the same key, so it must send the same
/// bytes, whatever the content: a body it cannot send again byte for byte is not re-sent, and the caller gets the 409.
/// </summary>
public sealed class InFlightReSendBodyTests
{
    private const string InFlightType = "https://github.com/idempotency-dotnet/idempotency/blob/main/docs/errors.md#request-in-flight";

    [Fact]
    public async Task NonSeekableStreamContent_IsSentAgainAfterAnInFlightConflict_WithTheSameBytes()
    {
        await using var server = InFlightOnceServer();
        using var client = new HttpClient(new IdempotencyKeyHandler { InnerHandler = new SocketsHttpHandler() });
        var body = Encoding.UTF8.GetBytes("{\"amount\":100}");

        using var response = await client.PostAsync(server.Uri, new StreamContent(new NonSeekableStream(body)));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(2, server.Requests.Count);
        Assert.All(server.Requests, r => Assert.Equal(body, r.Body));
        Assert.Single(server.Requests.Select(r => r.Key).Distinct());
    }

    // A content that serializes differently each time (a generator, a DTO with a clock in it): the re-send under the same
    // key carried another body, which the server takes for key reuse (422), or, without a fingerprint, runs as is.
    [Fact]
    public async Task ContentThatWritesOtherBytesEachTime_IsSentAgainWithTheFirstAttemptsBytes()
    {
        await using var server = InFlightOnceServer();
        using var client = new HttpClient(new IdempotencyKeyHandler { InnerHandler = new SocketsHttpHandler() });

        using var response = await client.PostAsync(server.Uri, new CountingContent());

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(["{\"attempt\":1}", "{\"attempt\":1}"], server.Requests.Select(r => Encoding.UTF8.GetString(r.Body)));
        Assert.Single(server.Requests.Select(r => r.Key).Distinct());
    }

    [Fact]
    public async Task NonSeekableContentTooLongToKeep_IsNotSentAgain_AndTheCallerGetsThe409()
    {
        await using var server = InFlightOnceServer();
        using var client = new HttpClient(new IdempotencyKeyHandler { InnerHandler = new SocketsHttpHandler() });
        var body = LoopbackHttpServer.Body("{\"blob\":\"", 1024 * 1024);

        using var response = await client.PostAsync(server.Uri, new StreamContent(new NonSeekableStream(body)));

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.True(await response.IsIdempotencyRequestInFlightAsync());
        Assert.Equal(body, Assert.Single(server.Requests).Body);
    }

    // A Content-Length the caller set on a non-seekable stream says nothing about whether it can be sent again.
    [Fact]
    public async Task NonSeekableContentTooLongToKeep_WithADeclaredLength_IsNotSentAgain_AndTheCallerGetsThe409()
    {
        await using var server = InFlightOnceServer();
        using var client = new HttpClient(new IdempotencyKeyHandler { InnerHandler = new SocketsHttpHandler() });
        var body = LoopbackHttpServer.Body("{\"blob\":\"", 1024 * 1024);
        var content = new StreamContent(new NonSeekableStream(body));
        content.Headers.ContentLength = body.Length;

        using var response = await client.PostAsync(server.Uri, content);

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal(body, Assert.Single(server.Requests).Body);
    }

    // A seekable stream goes back to where it started: re-sent whatever its size, with or without a declared length.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task LongSeekableStreamContent_IsStillSentAgain(bool declaredLength)
    {
        await using var server = InFlightOnceServer();
        using var client = new HttpClient(new IdempotencyKeyHandler { InnerHandler = new SocketsHttpHandler() });
        var body = LoopbackHttpServer.Body("{\"blob\":\"", 1024 * 1024);
        var content = new StreamContent(new MemoryStream(body));
        if (declaredLength)
        {
            content.Headers.ContentLength = body.Length;
        }

        using var response = await client.PostAsync(server.Uri, content);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(2, server.Requests.Count);
        Assert.All(server.Requests, r => Assert.Equal(body, r.Body));
    }

    // A string body is re-sent whatever its size: the content holds its bytes and writes the same ones each time.
    [Fact]
    public async Task LongStringContent_IsStillSentAgain()
    {
        await using var server = InFlightOnceServer();
        using var client = new HttpClient(new IdempotencyKeyHandler { InnerHandler = new SocketsHttpHandler() });
        var body = Encoding.ASCII.GetString(LoopbackHttpServer.Body("{\"blob\":\"", 1024 * 1024));

        using var response = await client.PostAsync(server.Uri, new StringContent(body));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(2, server.Requests.Count);
        Assert.All(server.Requests, r => Assert.Equal(body, Encoding.ASCII.GetString(r.Body)));
    }

    [Theory]
    [InlineData(65536, true)]
    [InlineData(8, false)] // the JSON body is longer than 8 bytes
    [InlineData(0, false)]
    public async Task JsonContent_IsSentAgainFromItsCopy_OnlyWhenItFitsMaxResendBufferSize(int maxResendBufferSize, bool sentAgain)
    {
        await using var server = InFlightOnceServer();
        using var client = new HttpClient(new IdempotencyKeyHandler(new() { MaxResendBufferSize = maxResendBufferSize }) { InnerHandler = new SocketsHttpHandler() });

        using var response = await client.PostAsJsonAsync(server.Uri, new { amount = 100 });

        Assert.Equal(sentAgain ? HttpStatusCode.Created : HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal(sentAgain ? 2 : 1, server.Requests.Count);
        Assert.All(server.Requests, r => Assert.Equal("{\"amount\":100}", Encoding.UTF8.GetString(r.Body)));
    }

    [Fact]
    public void MaxResendBufferSize_Is64KiBByDefault_AndANegativeValueIsRefusedWhereItIsConfigured()
    {
        var services = new ServiceCollection();

        var registration = Assert.Throws<ArgumentOutOfRangeException>(() => services.AddHttpClient("ledger").AddIdempotencyKeys(o => o.MaxResendBufferSize = -1));
        var construction = Assert.Throws<ArgumentOutOfRangeException>(() => new IdempotencyKeyHandler(new() { MaxResendBufferSize = -1 }));

        Assert.Equal(64 * 1024, new IdempotencyKeyHandlerOptions().MaxResendBufferSize);
        Assert.Equal("IdempotencyKeyHandlerOptions.MaxResendBufferSize", registration.ParamName);
        Assert.Equal("IdempotencyKeyHandlerOptions.MaxResendBufferSize", construction.ParamName);
    }

    // The caller's request keeps its own content once the handler returns; the copy was the handler's business.
    [Fact]
    public async Task TheCallersRequest_KeepsItsContent()
    {
        await using var server = InFlightOnceServer();
        using var client = new HttpClient(new IdempotencyKeyHandler { InnerHandler = new SocketsHttpHandler() });
        var content = new StreamContent(new NonSeekableStream("{}"u8.ToArray()));
        using var request = new HttpRequestMessage(HttpMethod.Post, server.Uri) { Content = content };

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Same(content, request.Content);
    }

    // A 303 turns the POST into a GET without a body; the handler puts the caller's content back only where it took it.
    [Fact]
    public async Task ARedirectToGet_LeavesTheRequestAsTheRedirectLeftIt()
    {
        await using var target = new LoopbackHttpServer((_, stream, ct) => LoopbackHttpServer.WriteHeadAsync(stream, "200 OK", "Content-Length: 0\r\n", ct));
        await using var server = new LoopbackHttpServer((_, stream, ct) =>
            LoopbackHttpServer.WriteHeadAsync(stream, "303 See Other", $"Location: {target.Uri}\r\nContent-Length: 0\r\n", ct));
        using var client = new HttpClient(new IdempotencyKeyHandler { InnerHandler = new SocketsHttpHandler() });
        using var request = new HttpRequestMessage(HttpMethod.Post, server.Uri) { Content = JsonContent.Create(new { amount = 100 }) };

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(HttpMethod.Get, request.Method);
        Assert.Null(request.Content);
    }

    // The first attempt answers 409 request-in-flight (Retry-After: 0), every later one 201.
    private static LoopbackHttpServer InFlightOnceServer()
    {
        var attempts = 0;
        return new LoopbackHttpServer(async (_, stream, ct) =>
        {
            if (Interlocked.Increment(ref attempts) == 1)
            {
                var json = Encoding.UTF8.GetBytes($"{{\"type\":\"{InFlightType}\",\"status\":409}}");
                await LoopbackHttpServer.WriteHeadAsync(stream, "409 Conflict", $"Content-Type: application/problem+json\r\nRetry-After: 0\r\nContent-Length: {json.Length}\r\n", ct);
                await stream.WriteAsync(json, ct);
            }
            else
            {
                await LoopbackHttpServer.WriteHeadAsync(stream, "201 Created", "Content-Length: 0\r\n", ct);
            }
        });
    }

    private sealed class NonSeekableStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;

        public override long Seek(long offset, SeekOrigin loc) => throw new NotSupportedException();
    }

    private sealed class CountingContent : HttpContent
    {
        private int _serializations;

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            stream.WriteAsync(Encoding.UTF8.GetBytes($"{{\"attempt\":{Interlocked.Increment(ref _serializations)}}}")).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
