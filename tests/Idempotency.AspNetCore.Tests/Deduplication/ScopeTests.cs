using System.Net;
using System.Security.Claims;
using Idempotency.AspNetCore.Deduplication;
using Idempotency.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;

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
    public async Task UserOfAnHttpContextThatKeepsItElsewhere_StillScopesTheKey()
    {
        // An HttpContext other than DefaultHttpContext may keep its user outside IHttpAuthenticationFeature: the
        // middleware asks it for User, so that two users never share a scope.
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddIdempotency();
        await using var provider = services.BuildServiceProvider();
        var executions = 0;
        var middleware = ActivatorUtilities.CreateInstance<IdempotencyMiddleware>(provider, (RequestDelegate)(_ =>
        {
            Interlocked.Increment(ref executions);
            return Task.CompletedTask;
        }));
        var endpoint = new RouteEndpoint(_ => Task.CompletedTask, RoutePatternFactory.Parse("/pay"), 0, new EndpointMetadataCollection(new RequireIdempotencyAttribute()), "pay");

        foreach (var user in new[] { "alice", "bob" })
        {
            var inner = new DefaultHttpContext { RequestServices = provider };
            inner.Request.Method = HttpMethods.Post;
            inner.Request.Path = "/pay";
            inner.Request.Headers["Idempotency-Key"] = "shared-key";
            inner.SetEndpoint(endpoint);
            await middleware.InvokeAsync(new ContextWithItsOwnUser(inner, new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.NameIdentifier, user)], "test"))));
        }

        Assert.Equal(2, executions);
    }

    /// <summary>A context that delegates to a <see cref="DefaultHttpContext"/> but keeps its user in a field of its own.</summary>
    private sealed class ContextWithItsOwnUser(DefaultHttpContext inner, ClaimsPrincipal user) : HttpContext
    {
        public override IFeatureCollection Features => inner.Features;

        public override HttpRequest Request => inner.Request;

        public override HttpResponse Response => inner.Response;

        public override ConnectionInfo Connection => inner.Connection;

        public override WebSocketManager WebSockets => inner.WebSockets;

        public override ClaimsPrincipal User
        {
            get => user;
            set => throw new NotSupportedException();
        }

        public override IDictionary<object, object?> Items
        {
            get => inner.Items;
            set => inner.Items = value;
        }

        public override IServiceProvider RequestServices
        {
            get => inner.RequestServices;
            set => inner.RequestServices = value;
        }

        public override CancellationToken RequestAborted
        {
            get => inner.RequestAborted;
            set => inner.RequestAborted = value;
        }

        public override string TraceIdentifier
        {
            get => inner.TraceIdentifier;
            set => inner.TraceIdentifier = value;
        }

        public override ISession Session
        {
            get => inner.Session;
            set => inner.Session = value;
        }

        public override void Abort() => inner.Abort();
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
