using System.Net;
using Idempotency.AspNetCore.Deduplication;
using Idempotency.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Idempotency.AspNetCore.Tests.Deduplication;

public sealed class CorePathEdgeCaseTests
{
    // Two Idempotency-Key fields folded into one line by an intermediary ("a", "b") are a list, not a key. The
    // parameters after the first key must not swallow the comma and the second key: the request never runs.
    [Theory]
    [InlineData("\"k1\";p=1, \"k2\"")]
    [InlineData("\"k1\";p, \"k2\"")]
    [InlineData("\"k1\";p=\"x\", \"k2\"")]
    [InlineData("\"k1\";p=tok, k2")]
    [InlineData("\"k1\";p=\"unterminated")]
    [InlineData("\"k1\";p=(a b)")]
    public async Task FoldedOrMalformedParameters_Get400_AndNeverRun(string value)
    {
        var executions = 0;
        var store = new CountingStore();
        await using var app = await TestApp.StartAsync(
            e => e.MapPost("/pay", () => Interlocked.Increment(ref executions)).RequireIdempotency(),
            services: s => s.AddSingleton<IIdempotencyStore>(store));

        var response = await app.SendAsync(TestApp.Post("/pay", value));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, IdempotencyProblemTypes.KeyMalformed);
        Assert.Equal(0, executions);
        Assert.Equal(0, store.Calls);
    }

    // Structured Field parameters are still accepted and ignored, a string value with a comma or a semicolon included.
    [Theory]
    [InlineData("\"k1\";p=1")]
    [InlineData("\"k1\";p=1;q")]
    [InlineData("\"k1\"; p=\"a, b; c\"")]
    [InlineData("\"k1\";p=?1;d=-1.5;t=a/b:c;b=:aGk=:;at=@1700000000")]
    public async Task ValidParameters_AreIgnored(string value)
    {
        await using var app = await TestApp.StartAsync(e => e.MapPost("/pay", () => "ok").RequireIdempotency());

        var first = await app.SendAsync(TestApp.Post("/pay", value));
        var retry = await app.SendAsync(TestApp.Post("/pay", "k1"));

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
    }
}
