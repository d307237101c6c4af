using System.Net;
using Idempotency.AspNetCore.Deduplication;
using Idempotency.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Idempotency.AspNetCore.Tests.Deduplication;

/// <summary>The default store's share per scope, seen through the middleware: one caller never takes the store from the others.</summary>
public sealed class StoreShareTests
{
    [Fact]
    public async Task CallerFloodingTheStore_NeverDisturbsAnotherCallersRecords()
    {
        var executions = 0;
        await using var app = await TestApp.StartAsync(
            e => e.MapPost("/pay", (HttpContext c) => $"{c.Request.Headers[TestApp.UserHeader]} run {Interlocked.Increment(ref executions)}").RequireIdempotency(),
            services: s => s.AddIdempotency().AddInMemoryStore(o =>
            {
                o.MaxEntries = 20;
                o.MaxScopeShare = 0.25;
            }));

        var bob = await app.SendAsync(TestApp.Post("/pay", "bob-key", user: "bob"));
        for (var i = 0; i < 200; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await app.SendAsync(TestApp.Post("/pay", $"flood-{i}", user: "mallory"))).StatusCode);
        }

        var bobRetry = await app.SendAsync(TestApp.Post("/pay", "bob-key", user: "bob"));
        var carol = await app.SendAsync(TestApp.Post("/pay", "carol-key", user: "carol"));

        Assert.Equal("bob run 1", await bob.Content.ReadAsStringAsync());
        Assert.Equal("bob run 1", await bobRetry.Content.ReadAsStringAsync());
        Assert.True(bobRetry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(HttpStatusCode.OK, carol.StatusCode);
    }

    [Fact]
    public async Task CallerWhoseShareIsAllInFlight_Gets429WithRetryAfter_WhileOthersRun()
    {
        var gate = new TaskCompletionSource();
        var started = 0;
        await using var app = await TestApp.StartAsync(
            e => e.MapPost("/pay", async (HttpContext c) =>
            {
                if (c.Request.Headers[TestApp.UserHeader] == "mallory")
                {
                    Interlocked.Increment(ref started);
                    await gate.Task;
                }

                return "ok";
            }).RequireIdempotency(),
            services: s => s.AddIdempotency().AddInMemoryStore(o =>
            {
                o.MaxEntries = 4;
                o.MaxScopeShare = 0.5;
            }));

        await app.SendAsync(TestApp.Post("/pay", "bob-1", user: "bob"));
        await app.SendAsync(TestApp.Post("/pay", "bob-2", user: "bob"));
        var held = new[] { app.SendAsync(TestApp.Post("/pay", "m-1", user: "mallory")), app.SendAsync(TestApp.Post("/pay", "m-2", user: "mallory")) };
        while (Volatile.Read(ref started) < 2)
        {
            await Task.Delay(10);
        }

        var refused = await app.SendAsync(TestApp.Post("/pay", "m-3", user: "mallory"));
        var bob = await app.SendAsync(TestApp.Post("/pay", "bob-3", user: "bob"));
        gate.SetResult();
        await Task.WhenAll(held);

        await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.TooManyRequests, IdempotencyProblemTypes.ScopeQuotaExceeded);
        Assert.True(refused.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
        Assert.Equal(HttpStatusCode.OK, bob.StatusCode);
    }
}
