using System.Net;
using Idempotency.AspNetCore.Deduplication;
using Idempotency.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Idempotency.AspNetCore.Tests.Deduplication;

public sealed class KeyValidationTests
{
    [Theory]
    [InlineData("\"unterminated", IdempotencyProblemTypes.KeyMalformed)]
    [InlineData("\"\"", IdempotencyProblemTypes.KeyMalformed)]
    [InlineData("two words", IdempotencyProblemTypes.KeyMalformed)]
    [InlineData("a,b", IdempotencyProblemTypes.KeyMalformed)]
    [InlineData("\"a\u0001b\"", IdempotencyProblemTypes.KeyMalformed)]
    [InlineData("cl\u00e9", IdempotencyProblemTypes.KeyMalformed)]
    public async Task InvalidKey_Gets400_BeforeAnyStoreAccess(string key, string problemType)
    {
        var executions = 0;
        var store = new CountingStore();
        await using var app = await TestApp.StartAsync(
            e => e.MapPost("/pay", () => Interlocked.Increment(ref executions)).RequireIdempotency(),
            services: s => s.AddSingleton<IIdempotencyStore>(store));

        var response = await app.SendAsync(TestApp.Post("/pay", key));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, problemType);
        Assert.Equal(0, executions);
        Assert.Equal(0, store.Calls);
    }

    [Fact]
    public async Task OverlongKey_Gets400KeyTooLong()
    {
        await using var app = await TestApp.StartAsync(e => e.MapPost("/pay", () => "ok").RequireIdempotency());

        var ok = await app.SendAsync(TestApp.Post("/pay", new string('k', 255)));
        var tooLong = await app.SendAsync(TestApp.Post("/pay", new string('k', 256)));

        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        await ProblemAssert.IsProblemAsync(tooLong, HttpStatusCode.BadRequest, IdempotencyProblemTypes.KeyTooLong);
    }

    [Fact]
    public async Task KeyHeaderSentTwice_Gets400KeyRepeated()
    {
        await using var app = await TestApp.StartAsync(e => e.MapPost("/pay", () => "ok").RequireIdempotency());
        var request = TestApp.Post("/pay", key: null);
        request.Headers.TryAddWithoutValidation("Idempotency-Key", ["k1", "k2"]);

        var response = await app.SendAsync(request);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, IdempotencyProblemTypes.KeyRepeated);
    }

    [Fact]
    public async Task QuotedAndBareKeys_NameTheSameKey()
    {
        var executions = 0;
        await using var app = await TestApp.StartAsync(e => e.MapPost("/pay", () => Interlocked.Increment(ref executions)).RequireIdempotency());

        await app.SendAsync(TestApp.Post("/pay", "\"k-1\""));
        var replay = await app.SendAsync(TestApp.Post("/pay", "k-1"));

        Assert.Equal(1, executions);
        Assert.True(replay.Headers.Contains("Idempotent-Replayed"));
    }

    [Fact]
    public async Task StrictMode_RefusesTheBareForm()
    {
        await using var app = await TestApp.StartAsync(e => e.MapPost("/pay", () => "ok").RequireIdempotency(), o => o.StrictKeyParsing = true);

        var bare = await app.SendAsync(TestApp.Post("/pay", "k-1"));
        var quoted = await app.SendAsync(TestApp.Post("/pay", "\"k-1\""));

        await ProblemAssert.IsProblemAsync(bare, HttpStatusCode.BadRequest, IdempotencyProblemTypes.KeyMalformed);
        Assert.Equal(HttpStatusCode.OK, quoted.StatusCode);
    }

    [Fact]
    public async Task CustomHeaderNameAndMaxLength_AreHonoured()
    {
        await using var app = await TestApp.StartAsync(
            e => e.MapPost("/pay", () => "ok").RequireIdempotency(),
            o =>
            {
                o.HeaderName = "X-Request-Key";
                o.MaxKeyLength = 8;
            });
        var request = TestApp.Post("/pay", key: null);
        request.Headers.Add("X-Request-Key", "123456789");

        var response = await app.SendAsync(request);
        var standardHeader = await app.SendAsync(TestApp.Post("/pay", "k"));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, IdempotencyProblemTypes.KeyTooLong);
        await ProblemAssert.IsProblemAsync(standardHeader, HttpStatusCode.BadRequest, IdempotencyProblemTypes.KeyMissing);
    }
}
