using System.Net;
using System.Text;
using Idempotency.AspNetCore.Deduplication;
using Idempotency.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Primitives;

namespace Idempotency.AspNetCore.Tests.Deduplication;

/// <summary>What a retry may not change: preconditions and the media type are part of the request.</summary>
public sealed class FingerprintTests
{
    [Fact]
    public async Task SameKey_WithAnotherIfMatch_Gets422_AndTheOriginalKeepsReplaying()
    {
        var executions = 0;
        await using var app = await StartAsync(() => Interlocked.Increment(ref executions));

        var original = await app.SendAsync(Post("k", ("If-Match", "\"v1\"")));
        var mismatch = await app.SendAsync(Post("k", ("If-Match", "\"v2\"")));
        var replay = await app.SendAsync(Post("k", ("If-Match", "\"v1\"")));

        Assert.Equal(HttpStatusCode.OK, original.StatusCode);
        await ProblemAssert.IsProblemAsync(mismatch, HttpStatusCode.UnprocessableEntity, IdempotencyProblemTypes.KeyReused);
        Assert.True(replay.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(1, executions);
    }

    [Fact]
    public async Task StoredPreconditionFailure_IsNotReplayed_ToARetryWhoseConditionWasFixed()
    {
        var executions = 0;
        await using var app = await TestApp.StartAsync(e => e.MapPost("/pay", (HttpContext context) =>
        {
            Interlocked.Increment(ref executions);
            return context.Request.Headers.IfMatch == "\"v2\"" ? Results.Ok("paid") : Results.StatusCode(StatusCodes.Status412PreconditionFailed);
        }).RequireIdempotency());

        var stale = await app.SendAsync(Post("k", ("If-Match", "\"v1\"")));
        var fixedCondition = await app.SendAsync(Post("k", ("If-Match", "\"v2\"")));

        Assert.Equal(HttpStatusCode.PreconditionFailed, stale.StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, fixedCondition.StatusCode);
        Assert.Equal(1, executions);
    }

    [Theory]
    [InlineData("If-Match", "\"v1\"", "\"v2\"")]
    [InlineData("If-None-Match", "\"v1\"", "*")]
    [InlineData("If-Modified-Since", "Wed, 21 Oct 2015 07:28:00 GMT", "Thu, 22 Oct 2015 07:28:00 GMT")]
    [InlineData("If-Unmodified-Since", "Wed, 21 Oct 2015 07:28:00 GMT", "Thu, 22 Oct 2015 07:28:00 GMT")]
    public async Task SameKey_WithAnotherPreconditionValue_Gets422(string header, string first, string second)
    {
        await using var app = await StartAsync(() => "ok");

        await app.SendAsync(Post("k", (header, first)));
        var mismatch = await app.SendAsync(Post("k", (header, second)));
        var replay = await app.SendAsync(Post("k", (header, first)));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, mismatch.StatusCode);
        Assert.True(replay.Headers.Contains("Idempotent-Replayed"));
    }

    [Theory]
    [InlineData("If-Match", "\"v1\"")]
    [InlineData("If-None-Match", "*")]
    [InlineData("If-Modified-Since", "Wed, 21 Oct 2015 07:28:00 GMT")]
    [InlineData("If-Unmodified-Since", "Wed, 21 Oct 2015 07:28:00 GMT")]
    public async Task SameKey_WithAPreconditionAddedOrDropped_Gets422(string header, string value)
    {
        await using var app = await StartAsync(() => "ok");

        await app.SendAsync(Post("k"));
        var added = await app.SendAsync(Post("k", (header, value)));
        await app.SendAsync(Post("k2", (header, value)));
        var dropped = await app.SendAsync(Post("k2"));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, added.StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, dropped.StatusCode);
    }

    [Fact]
    public async Task SameValue_UnderAnotherPreconditionHeader_Gets422()
    {
        await using var app = await StartAsync(() => "ok");

        await app.SendAsync(Post("k", ("If-Match", "\"v1\"")));
        var mismatch = await app.SendAsync(Post("k", ("If-None-Match", "\"v1\"")));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, mismatch.StatusCode);
    }

    [Fact]
    public async Task Precondition_SentAsTwoFields_IsTheSameRequestAsOneCommaSeparatedField_WhitespaceAside()
    {
        await using var app = await StartAsync(() => "ok");

        var original = await SendRawAsync(app, "{}", r => r.Headers.IfMatch = new StringValues(["\"a\"", " \"b\"\t"]));
        var replay = await SendRawAsync(app, "{}", r => r.Headers.IfMatch = "\"a\", \"b\"");

        Assert.Equal(StatusCodes.Status200OK, original.Response.StatusCode);
        Assert.Equal("true", replay.Response.Headers["Idempotent-Replayed"].ToString());
    }

    [Fact]
    public async Task EmptyPrecondition_DiffersFromAnAbsentOne()
    {
        await using var app = await StartAsync(() => "ok");

        await SendRawAsync(app, "{}", r => r.Headers.IfNoneMatch = string.Empty);
        var mismatch = await SendRawAsync(app, "{}", _ => { });

        Assert.Equal(StatusCodes.Status422UnprocessableEntity, mismatch.Response.StatusCode);
    }

    [Fact]
    public async Task SameKey_SameBytes_WithAnotherMediaType_Gets422()
    {
        await using var app = await StartAsync(() => "ok");

        await app.SendAsync(PostAs("k", "application/json"));
        var mismatch = await app.SendAsync(PostAs("k", "text/plain"));

        await ProblemAssert.IsProblemAsync(mismatch, HttpStatusCode.UnprocessableEntity, IdempotencyProblemTypes.KeyReused);
    }

    [Fact]
    public async Task SameKey_SameBytes_WithAndWithoutAContentType_Gets422()
    {
        await using var app = await StartAsync(() => "ok");

        await SendRawAsync(app, "{}", r => r.ContentType = "application/json");
        var withoutContentType = await SendRawAsync(app, "{}", _ => { });
        await SendRawAsync(app, "{}", r => r.ContentType = string.Empty, key: "k2");
        var emptyThenAbsent = await SendRawAsync(app, "{}", _ => { }, key: "k2");

        Assert.Equal(StatusCodes.Status422UnprocessableEntity, withoutContentType.Response.StatusCode);
        Assert.Equal(StatusCodes.Status422UnprocessableEntity, emptyThenAbsent.Response.StatusCode);
    }

    [Theory]
    [InlineData("application/json", "application/json; charset=utf-8")]
    [InlineData("application/json; charset=utf-8", "application/json")]
    [InlineData("application/json", "Application/JSON;Charset=\"UTF-8\"")]
    [InlineData("application/json", " application/json ; profile=\"https://example.com/p;v=2\"")]
    [InlineData("text/plain; charset=utf-16", "TEXT/plain;format=flowed; CHARSET=UTF-16")]
    public async Task MediaTypes_ThatDifferInCaseInAUtf8CharsetOrInOtherParameters_AreTheSameRequest(string first, string second)
    {
        var executions = 0;
        await using var app = await StartAsync(() => Interlocked.Increment(ref executions));

        await SendRawAsync(app, "{}", r => r.ContentType = first);
        var replay = await SendRawAsync(app, "{}", r => r.ContentType = second);

        Assert.Equal("true", replay.Response.Headers["Idempotent-Replayed"].ToString());
        Assert.Equal(1, executions);
    }

    [Theory]
    [InlineData("text/plain; charset=utf-8", "text/plain; charset=utf-16")]
    [InlineData("text/plain", "text/plain; charset=iso-8859-1")]
    [InlineData("text/plain; a=\"x;charset=utf-16\"", "text/plain; charset=utf-16")]
    public async Task SameKey_SameBytes_WithAnotherCharset_Gets422(string first, string second)
    {
        await using var app = await StartAsync(() => "ok");

        await SendRawAsync(app, "{}", r => r.ContentType = first);
        var mismatch = await SendRawAsync(app, "{}", r => r.ContentType = second);

        Assert.Equal(StatusCodes.Status422UnprocessableEntity, mismatch.Response.StatusCode);
    }

    internal static Task<TestApp> StartAsync(Delegate handler, Action<IdempotencyOptions>? configure = null, Action<IServiceCollection>? services = null) =>
        TestApp.StartAsync(e => e.MapPost("/pay", handler).RequireIdempotency(), configure, services);

    internal static HttpRequestMessage Post(string key, params (string Name, string Value)[] headers) => PostAs(key, "application/json", headers);

    internal static HttpRequestMessage PostAs(string key, string? contentType, params (string Name, string Value)[] headers)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/pay") { Content = new ByteArrayContent("{}"u8.ToArray()) };
        if (contentType is not null)
        {
            request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        }

        request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
        request.Headers.Add(TestApp.UserHeader, "alice");
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return request;
    }

    /// <summary>
    /// Sends a request through the test server with its headers exactly as <paramref name="configure"/> sets them, and
    /// returns once the whole pipeline has returned.
    /// </summary>
    internal static async Task<HttpContext> SendRawAsync(TestApp app, string body, Action<HttpRequest> configure, string key = "k")
    {
        var server = (TestServer)app.Services.GetRequiredService<IServer>();
        var sent = await server.SendAsync(context =>
        {
            var bytes = Encoding.UTF8.GetBytes(body);
            context.Request.Method = HttpMethods.Post;
            context.Request.Path = "/pay";
            context.Request.Headers["Idempotency-Key"] = key;
            context.Request.Headers[TestApp.UserHeader] = "alice";
            context.Request.Body = new MemoryStream(bytes);
            context.Request.ContentLength = bytes.Length;
            configure(context.Request);
        });

        // The test server hands the context back as soon as the response starts, which can be before the middleware
        // has recorded the outcome (a request sent next then found the key in flight, once, under load); its body ends
        // only when the whole pipeline has returned.
        await sent.Response.Body.CopyToAsync(Stream.Null);
        return sent;
    }
}
