using System.Net;
using Idempotency.AspNetCore.Deduplication;
using Idempotency.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Idempotency.AspNetCore.Tests.Deduplication;

public sealed class StoreFailureTests
{
    [Fact]
    public async Task UnreachableStore_Gets503_AndTheHandlerDoesNotRun()
    {
        var executions = 0;
        var store = new CountingStore { FailWith = new IdempotencyStoreException("connection refused") };
        await using var app = await TestApp.StartAsync(
            e => e.MapPost("/pay", () => Interlocked.Increment(ref executions)).RequireIdempotency(),
            services: s => s.AddSingleton<IIdempotencyStore>(store));

        var response = await app.SendAsync(TestApp.Post("/pay", "k"));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.ServiceUnavailable, IdempotencyProblemTypes.StoreUnavailable);
        Assert.True(response.Headers.Contains("Retry-After"));
        Assert.Equal(0, executions);
    }

    [Fact]
    public async Task AnyStoreException_IsTreatedAsUnavailable()
    {
        var executions = 0;
        var store = new CountingStore { FailWith = new TimeoutException("store timed out") };
        await using var app = await TestApp.StartAsync(
            e => e.MapPost("/pay", () => Interlocked.Increment(ref executions)).RequireIdempotency(),
            services: s => s.AddSingleton<IIdempotencyStore>(store));

        var response = await app.SendAsync(TestApp.Post("/pay", "k"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(0, executions);
    }

    [Fact]
    public async Task OptionalEndpoint_Gets503ByDefault_AndRunsUnprotectedOnlyWhenAllowed()
    {
        var executions = 0;
        var store = new CountingStore { FailWith = new IdempotencyStoreException("down") };
        void Map(IEndpointRouteBuilder e)
        {
            e.MapPost("/optional", () => Interlocked.Increment(ref executions)).EnableIdempotency();
            e.MapPost("/required", () => Interlocked.Increment(ref executions)).RequireIdempotency();
        }

        await using (var strict = await TestApp.StartAsync(Map, services: s => s.AddSingleton<IIdempotencyStore>(store)))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await strict.SendAsync(TestApp.Post("/optional", "k"))).StatusCode);
        }

        await using var lenient = await TestApp.StartAsync(
            Map, o => o.AllowUnprotectedExecutionWhenStoreUnavailable = true, s => s.AddSingleton<IIdempotencyStore>(store));
        var optional = await lenient.SendAsync(TestApp.Post("/optional", "k"));
        var required = await lenient.SendAsync(TestApp.Post("/required", "k"));

        Assert.Equal(HttpStatusCode.OK, optional.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, required.StatusCode);
        Assert.Equal(1, executions);
    }

    [Fact]
    public async Task FullInMemoryStore_Gets503StoreFull_WithoutEvictingLiveKeys()
    {
        var executions = 0;
        await using var app = await TestApp.StartAsync(
            e => e.MapPost("/pay", () => Interlocked.Increment(ref executions)).RequireIdempotency(),
            services: s => s.AddIdempotency().AddInMemoryStore(o =>
            {
                o.MaxEntries = 1;
                o.MaxScopeShare = 1;
                o.WhenFull = InMemoryStoreFullBehavior.RefuseNewClaims; // the default evicts the completed k1 instead
            }));

        await app.SendAsync(TestApp.Post("/pay", "k1"));
        var refused = await app.SendAsync(TestApp.Post("/pay", "k2"));
        var replay = await app.SendAsync(TestApp.Post("/pay", "k1"));

        await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.ServiceUnavailable, IdempotencyProblemTypes.StoreFull);
        Assert.True(replay.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(1, executions);
    }

    [Fact]
    public async Task StoreFailingOnComplete_StillAnswersTheClient_AndTheKeyStaysClaimed()
    {
        var executions = 0;
        var store = new CountingStore { FailCompleteWith = new IdempotencyStoreException("lost connection") };
        await using var app = await TestApp.StartAsync(
            e => e.MapPost("/pay", () => Interlocked.Increment(ref executions)).RequireIdempotency(),
            services: s => s.AddSingleton<IIdempotencyStore>(store));

        var response = await app.SendAsync(TestApp.Post("/pay", "k"));
        var retry = await app.SendAsync(TestApp.Post("/pay", "k"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, retry.StatusCode); // protected until the lease ends, never run twice within it
        Assert.Equal(1, executions);
    }
}
