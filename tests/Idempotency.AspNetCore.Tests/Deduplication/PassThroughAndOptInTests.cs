using System.Net;
using Idempotency.AspNetCore.Deduplication;
using Idempotency.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Idempotency.AspNetCore.Tests.Deduplication;

public sealed class PassThroughAndOptInTests
{
    [Fact]
    public async Task EndpointWithoutMetadata_IgnoresTheKey_AndRunsEveryTime()
    {
        var executions = 0;
        await using var app = await TestApp.StartAsync(e => e.MapPost("/plain", () => Interlocked.Increment(ref executions)));

        var first = await app.SendAsync(TestApp.Post("/plain", "k1"));
        var second = await app.SendAsync(TestApp.Post("/plain", "k1"));

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(2, executions);
        Assert.False(second.Headers.Contains("Idempotent-Replayed"));
    }

    [Fact]
    public async Task EndpointWithoutMetadata_IgnoresEvenAMalformedKey()
    {
        await using var app = await TestApp.StartAsync(e => e.MapPost("/plain", () => "ok"));

        var response = await app.SendAsync(TestApp.Post("/plain", "\"unterminated"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task RequiredEndpoint_RefusesARequestWithoutKey_BeforeTheHandler()
    {
        var executions = 0;
        await using var app = await TestApp.StartAsync(e => e.MapPost("/pay", () => Interlocked.Increment(ref executions)).RequireIdempotency());

        var response = await app.SendAsync(TestApp.Post("/pay", key: null));

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, IdempotencyProblemTypes.KeyMissing);
        Assert.Contains("Idempotency-Key", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, executions);
    }

    [Fact]
    public async Task RequiredAttribute_ActsLikeTheConvention()
    {
        var executions = 0;
        await using var app = await TestApp.StartAsync(e => e.MapPost("/pay", [RequireIdempotency] () => Interlocked.Increment(ref executions)));

        var missing = await app.SendAsync(TestApp.Post("/pay", key: null));
        await app.SendAsync(TestApp.Post("/pay", "k"));
        var replay = await app.SendAsync(TestApp.Post("/pay", "k"));

        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.Equal(1, executions);
        Assert.True(replay.Headers.Contains("Idempotent-Replayed"));
    }

    [Fact]
    public async Task OptionalEndpoint_RunsKeylessRequestsEveryTime_AndDeduplicatesKeyedOnes()
    {
        var executions = 0;
        await using var app = await TestApp.StartAsync(e => e.MapPost("/pay", () => Interlocked.Increment(ref executions)).EnableIdempotency());

        await app.SendAsync(TestApp.Post("/pay", key: null));
        await app.SendAsync(TestApp.Post("/pay", key: null));
        await app.SendAsync(TestApp.Post("/pay", "k"));
        var replay = await app.SendAsync(TestApp.Post("/pay", "k"));

        Assert.Equal(3, executions);
        Assert.Equal("true", replay.Headers.GetValues("Idempotent-Replayed").Single());
    }

    [Fact]
    public async Task DisabledEndpoint_InARequiredGroup_PassesThrough()
    {
        var executions = 0;
        await using var app = await TestApp.StartAsync(e =>
        {
            var group = e.MapGroup("/api").RequireIdempotency();
            group.MapPost("/keyed", () => "keyed");
            group.MapPost("/free", () => Interlocked.Increment(ref executions)).DisableIdempotency();
        });

        var keyed = await app.SendAsync(TestApp.Post("/api/keyed", key: null));
        await app.SendAsync(TestApp.Post("/api/free", key: null));
        await app.SendAsync(TestApp.Post("/api/free", "k"));
        await app.SendAsync(TestApp.Post("/api/free", "k"));

        Assert.Equal(HttpStatusCode.BadRequest, keyed.StatusCode);
        Assert.Equal(3, executions);
    }

    [Fact]
    public async Task SafeMethods_OnAnOptedInEndpoint_PassThrough()
    {
        var executions = 0;
        await using var app = await TestApp.StartAsync(e =>
            e.MapMethods("/thing", [HttpMethods.Get, HttpMethods.Post], () => Interlocked.Increment(ref executions)).RequireIdempotency());

        var get = await app.Client.GetAsync(new Uri("/thing", UriKind.Relative));
        var post = await app.SendAsync(TestApp.Post("/thing", key: null));

        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, post.StatusCode);
        Assert.Equal(1, executions);
    }

    [Fact]
    public async Task UnmatchedRoute_PassesThrough()
    {
        await using var app = await TestApp.StartAsync(e => e.MapPost("/pay", () => "ok").RequireIdempotency());

        var response = await app.SendAsync(TestApp.Post("/nowhere", "k"));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
