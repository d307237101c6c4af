using System.Globalization;
using System.Net;
using Idempotency.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;

namespace Idempotency.AspNetCore.Tests.Deduplication;

/// <summary>
/// A JSON body under a policy that excludes members from the fingerprint, longer than the pooled limit (64 KiB): it
/// goes through request buffering (memory, then a temporary file) as any large body does, instead of being held whole
/// in pooled memory, and is fingerprinted exactly as the same JSON sent small.
/// </summary>
public sealed class LargeFilteredJsonBodyTests
{
    [Fact]
    public async Task LargeJsonBody_GoesThroughRequestBuffering_ReachesTheHandlerWhole_AndIsFingerprintedWithoutTheExcludedMembers()
    {
        var executions = 0;
        await using var app = await StartAsync(() => Interlocked.Increment(ref executions));
        var original = Items(sentAt: "2026-01-01T00:00:00Z", lastN: 4_999);

        var first = await app.SendAsync(TestApp.Post("/transfers", "k", original));
        var retry = await app.SendAsync(TestApp.Post("/transfers", "k", Items(sentAt: "2026-01-01T00:00:09Z", lastN: 4_999)));
        var other = await app.SendAsync(TestApp.Post("/transfers", "k", Items(sentAt: "2026-01-01T00:00:00Z", lastN: 5_000)));

        // The handler read it whole, from ASP.NET Core's request buffer spilled to a file, not from a pooled array.
        Assert.Equal(string.Create(CultureInfo.InvariantCulture, $"{original.Length} spilled:True"), await first.Content.ReadAsStringAsync());
        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, other.StatusCode);
        Assert.Equal(1, executions);
    }

    [Fact]
    public async Task LargeJsonBody_IsFingerprintedAsTheSameJsonSentSmall()
    {
        // Spaces make the same JSON value long: the large path must write the same filtered bytes as the small one.
        await using var app = await StartAsync(() => 0);
        const string small = """{"amount":10,"sentAt":"2026-01-01T00:00:00Z","meta":{"sentAt":1,"by":"a"}}""";
        var large = """{ "amount" : 10, "sentAt": "2026-01-01T00:00:07Z", "meta": {"by": "a",""" + new string(' ', 200_000) + """ "sentAt": [1, 2]} }""";

        var first = await app.SendAsync(TestApp.Post("/transfers", "k", small));
        var retry = await app.SendAsync(TestApp.Post("/transfers", "k", large));

        Assert.Equal(string.Create(CultureInfo.InvariantCulture, $"{small.Length} spilled:False"), await first.Content.ReadAsStringAsync());
        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
    }

    [Fact]
    public async Task LargeBodyThatIsNotJson_IsFingerprintedAsSent_AndReachesTheHandlerWhole()
    {
        await using var app = await StartAsync(() => 0);
        var broken = Items(sentAt: "x", lastN: 4_999)[..^1];

        var first = await app.SendAsync(TestApp.Post("/transfers", "k", broken));
        var same = await app.SendAsync(TestApp.Post("/transfers", "k", broken));
        var other = await app.SendAsync(TestApp.Post("/transfers", "k", broken.Replace("\"sentAt\":\"x\"", "\"sentAt\":\"y\"", StringComparison.Ordinal)));

        Assert.Equal(string.Create(CultureInfo.InvariantCulture, $"{broken.Length} spilled:True"), await first.Content.ReadAsStringAsync());
        Assert.True(same.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, other.StatusCode);
    }

    [Fact]
    public async Task TokenLongerThanThePooledLimit_FingerprintsTheBodyAsSent()
    {
        // One string of 100 KB would need a window that large: the body is fingerprinted as sent (documented), so an
        // excluded member then counts.
        await using var app = await StartAsync(() => 0);
        var document = new string('a', 100_000);

        await app.SendAsync(TestApp.Post("/transfers", "k", $$"""{"doc":"{{document}}","sentAt":1}"""));
        var same = await app.SendAsync(TestApp.Post("/transfers", "k", $$"""{"doc":"{{document}}","sentAt":1}"""));
        var otherSentAt = await app.SendAsync(TestApp.Post("/transfers", "k", $$"""{"doc":"{{document}}","sentAt":2}"""));

        Assert.True(same.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, otherSentAt.StatusCode);
    }

    [Fact]
    public async Task BodyBetweenOneAndTwoPooledLimits_IsFingerprintedTheSame_WithOrWithoutContentLength()
    {
        // 70 KB: past the pooled limit, below twice it, with one token longer than the window. Sent with a
        // Content-Length it went through request buffering (token too long: as sent); sent chunked it was read whole
        // into the pooled array and filtered. The same bytes must give the same fingerprint however they are framed.
        await using var app = await StartAsync(() => 0);
        var body = $$"""{"doc":"{{new string('a', 70_000)}}","sentAt":1}""";

        var chunked = TestApp.Post("/transfers", "k", body);
        chunked.Content = new UnknownLengthContent(body);
        var first = await app.SendAsync(chunked);
        var retry = await app.SendAsync(TestApp.Post("/transfers", "k", body));

        // The chunked body reached the handler whole, from request buffering.
        Assert.Equal(string.Create(CultureInfo.InvariantCulture, $"{body.Length} spilled:True"), await first.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
    }

    // A JSON body whose length is not known in advance: sent without Content-Length.
    private sealed class UnknownLengthContent : HttpContent
    {
        private readonly byte[] _bytes;

        public UnknownLengthContent(string body)
        {
            _bytes = System.Text.Encoding.UTF8.GetBytes(body);
            Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => stream.WriteAsync(_bytes).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }

    // About 200 KB: 5,000 items, each with its own sentAt, the last one's n given.
    private static string Items(string sentAt, int lastN) =>
        "{\"items\":[" + string.Join(",", Enumerable.Range(0, 5_000).Select(i => $$"""{"n":{{(i == 4_999 ? lastN : i)}},"sentAt":"{{sentAt}}"}""")) + "]}";

    private static Task<TestApp> StartAsync(Func<object> effect) => TestApp.StartAsync(
        e => e.MapPost("/transfers", async (HttpRequest request) =>
        {
            effect();
            var spilled = request.Body is FileBufferingReadStream { InMemory: false };
            var body = await new StreamReader(request.Body).ReadToEndAsync();
            return string.Create(CultureInfo.InvariantCulture, $"{body.Length} spilled:{spilled}");
        }).RequireIdempotency("payments"),
        o => o.AddPolicy("payments", p =>
        {
            p.FingerprintExcludedJsonMembers.Add("sentAt");
            p.FingerprintExcludedJsonMembers.Add("meta.sentAt");
            p.FingerprintExcludedJsonMembers.Add("items.sentAt");
        }));
}
