using System.Net;
using System.Text;

namespace Idempotency.Http.Tests.Client;

/// <summary>
/// A server or proxy that answers 409 or 422 with a huge or endless body: the handler and the response extensions
/// read only a bounded prefix of the body to tell the problem type, and the caller still
/// gets the whole body, byte for byte.
/// </summary>
public sealed class ProblemBodyLimitTests
{
    private const string InFlightType = "https://github.com/idempotency-dotnet/idempotency/blob/main/docs/errors.md#request-in-flight";
    private const string KeyReusedType = "https://github.com/idempotency-dotnet/idempotency/blob/main/docs/errors.md#key-reused";

    // Far more than the reader's limit; the server then holds the body open forever, so a client that reads to the
    // end never returns. (Not truly endless, so the old code hangs rather than filling the machine's memory.)
    private const int BodySent = 1024 * 1024;

    // Only stops a hang from blocking the test run; no assertion depends on it.
    private static readonly TimeSpan s_hangGuard = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task InFlightConflictWithAnEndlessBody_IsReturnedWithoutReadingItAll_AndTheCallerReadsItsBody()
    {
        var body = LoopbackHttpServer.Body($"{{\"type\":\"{InFlightType}\",\"detail\":\"", BodySent);
        await using var server = new LoopbackHttpServer(async (_, stream, ct) =>
        {
            await LoopbackHttpServer.WriteHeadAsync(stream, "409 Conflict", "Content-Type: application/problem+json\r\nRetry-After: 0\r\nTransfer-Encoding: chunked\r\n", ct);
            await LoopbackHttpServer.WriteEndlessChunkedAsync(stream, body, ct);
        });
        using var client = new HttpClient(new IdempotencyKeyHandler { InnerHandler = new SocketsHttpHandler() });
        using var guard = new CancellationTokenSource(s_hangGuard);
        using var request = new HttpRequestMessage(HttpMethod.Post, server.Uri) { Content = new StringContent("{}") };

        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, guard.Token);

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Single(server.Requests); // a body too big to be the middleware's problem is never taken for request-in-flight
        Assert.Equal(body[..(64 * 1024)], await ReadAsync(response, 64 * 1024, guard.Token));
    }

    [Fact]
    public async Task ConflictDeclaringAHugeContentLength_IsReturnedUnread_AndTheCallerReadsItsBody()
    {
        var body = LoopbackHttpServer.Body($"{{\"type\":\"{InFlightType}\",\"detail\":\"", BodySent);
        await using var server = new LoopbackHttpServer(async (_, stream, ct) =>
        {
            await LoopbackHttpServer.WriteHeadAsync(stream, "409 Conflict", "Content-Type: application/problem+json\r\nRetry-After: 0\r\nContent-Length: 1099511627776\r\n", ct);
            await stream.WriteAsync(body, ct);
            await LoopbackHttpServer.WaitForHangUpAsync(stream, ct);
        });
        using var client = new HttpClient(new IdempotencyKeyHandler { InnerHandler = new SocketsHttpHandler() });
        using var guard = new CancellationTokenSource(s_hangGuard);
        using var request = new HttpRequestMessage(HttpMethod.Post, server.Uri) { Content = new StringContent("{}") };

        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, guard.Token);

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Single(server.Requests);
        Assert.Equal(body[..(64 * 1024)], await ReadAsync(response, 64 * 1024, guard.Token));
    }

    [Fact]
    public async Task KeyReusedCheck_OnAnEndlessBody_ReadsAPrefixOnly_AndLeavesTheWholeBodyToTheCaller()
    {
        var body = LoopbackHttpServer.Body($"{{\"type\":\"{KeyReusedType}\",\"detail\":\"", BodySent);
        await using var server = new LoopbackHttpServer(async (_, stream, ct) =>
        {
            await LoopbackHttpServer.WriteHeadAsync(stream, "422 Unprocessable Entity", "Content-Type: application/problem+json\r\nTransfer-Encoding: chunked\r\n", ct);
            await LoopbackHttpServer.WriteEndlessChunkedAsync(stream, body, ct);
        });
        using var client = new HttpClient(new SocketsHttpHandler());
        using var guard = new CancellationTokenSource(s_hangGuard);

        using var streamed = await client.SendAsync(new HttpRequestMessage(HttpMethod.Post, server.Uri), HttpCompletionOption.ResponseHeadersRead, guard.Token);

        Assert.False(await streamed.IsIdempotencyKeyReusedAsync(guard.Token));
        Assert.Equal(body[..(64 * 1024)], await ReadAsync(streamed, 64 * 1024, guard.Token));
    }

    // The reader now reads a body of unknown length itself instead of buffering the content: a small chunked problem is
    // still told apart, re-sent when it is request-in-flight, and readable when it is the application's own.
    [Fact]
    public async Task ChunkedProblems_AreStillToldApart_AndTheApplicationsBodyStaysReadable()
    {
        var busyAttempts = 0;
        await using var server = new LoopbackHttpServer(async (request, stream, ct) =>
        {
            var type = request.Target == "/busy" && Interlocked.Increment(ref busyAttempts) == 1 ? InFlightType : "https://bank.example/insufficient-funds";
            var json = Encoding.UTF8.GetBytes($"{{\"type\":\"{type}\",\"status\":409}}");
            await LoopbackHttpServer.WriteHeadAsync(stream, "409 Conflict", "Content-Type: application/problem+json\r\nRetry-After: 0\r\nTransfer-Encoding: chunked\r\n", ct);
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"{json.Length:x}\r\n"), ct);
            await stream.WriteAsync(json, ct);
            await stream.WriteAsync("\r\n0\r\n\r\n"u8.ToArray(), ct);
        });
        using var client = new HttpClient(new IdempotencyKeyHandler { InnerHandler = new SocketsHttpHandler() });

        using var busy = await client.SendAsync(new HttpRequestMessage(HttpMethod.Post, new Uri(server.Uri, "busy")), HttpCompletionOption.ResponseHeadersRead);
        using var funds = await client.SendAsync(new HttpRequestMessage(HttpMethod.Post, new Uri(server.Uri, "funds")), HttpCompletionOption.ResponseHeadersRead);

        Assert.Equal(["/busy", "/busy", "/funds"], server.Requests.Select(r => r.Target));
        Assert.Contains("insufficient-funds", await busy.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Contains("insufficient-funds", await funds.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    // Media types are case-insensitive (RFC 9110 section 8.3.1); a proxy that rewrites the case of Content-Type made the
    // middleware's in-flight 409 look like an application's, so the handler returned it instead of waiting.
    [Fact]
    public async Task AProblemContentTypeInAnotherCase_IsStillAProblem()
    {
        using var response = new HttpResponseMessage(HttpStatusCode.Conflict)
        {
            Content = new StringContent($"{{\"type\":\"{InFlightType}\",\"status\":409}}", Encoding.UTF8, "Application/Problem+JSON"),
        };

        Assert.True(await response.IsIdempotencyRequestInFlightAsync());
    }

    private static async Task<byte[]> ReadAsync(HttpResponseMessage response, int count, CancellationToken cancellationToken)
    {
        var bytes = new byte[count];
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        await stream.ReadExactlyAsync(bytes, cancellationToken);
        return bytes;
    }
}
