using System.Net;
using System.Security.Claims;
using Idempotency.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Idempotency.AspNetCore.Tests.Deduplication;

public sealed class ScopeTests
{
    [Fact]
    public async Task SameKey_FromTwoUsers_RunsTwice_AndNeverReplaysTheOtherUsersResponse()
    {
        await using var app = await TestApp.StartAsync(e => e.MapPost("/whoami", (HttpContext c) => "hello " + c.User.FindFirst(ClaimTypes.NameIdentifier)!.Value).RequireIdempotency());

        var alice = await app.SendAsync(TestApp.Post("/whoami", "shared-key", user: "alice"));
        var bob = await app.SendAsync(TestApp.Post("/whoami", "shared-key", user: "bob"));
        var aliceAgain = await app.SendAsync(TestApp.Post("/whoami", "shared-key", user: "alice"));

        Assert.Equal("hello alice", await alice.Content.ReadAsStringAsync());
        Assert.Equal("hello bob", await bob.Content.ReadAsStringAsync());
        Assert.False(bob.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal("hello alice", await aliceAgain.Content.ReadAsStringAsync());
        Assert.True(aliceAgain.Headers.Contains("Idempotent-Replayed"));
    }

    [Fact]
    public async Task CustomScopeResolver_ScopesKeysByTenant()
    {
        var executions = 0;
        await using var app = await TestApp.StartAsync(
            e => e.MapPost("/pay", () => Interlocked.Increment(ref executions)).RequireIdempotency(),
            o => o.ScopeResolver = args => ValueTask.FromResult<string?>(args.Context.Request.Headers["X-Tenant"].ToString()));

        foreach (var tenant in new[] { "t1", "t1", "t2" })
        {
            var request = TestApp.Post("/pay", "k", user: null);
            request.Headers.Add("X-Tenant", tenant);
            await app.SendAsync(request);
        }

        Assert.Equal(2, executions);
    }

    [Fact]
    public async Task AnonymousCallers_ShareTheEmptyScope()
    {
        var executions = 0;
        await using var app = await TestApp.StartAsync(e => e.MapPost("/pay", () => Interlocked.Increment(ref executions)).RequireIdempotency());

        await app.SendAsync(TestApp.Post("/pay", "k", user: null));
        var second = await app.SendAsync(TestApp.Post("/pay", "k", user: null));
        var authenticated = await app.SendAsync(TestApp.Post("/pay", "k", user: "alice"));

        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.True(second.Headers.Contains("Idempotent-Replayed"));
        Assert.False(authenticated.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(2, executions);
    }
}
