using System.Net;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Idempotency.AspNetCore.Deduplication;
using Idempotency.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

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

    // An endpoint protected only by the fallback policy carries no authorization metadata. With UseIdempotency() before
    // authentication and authorization, every caller is anonymous to the middleware: alice's response would be stored
    // in the shared anonymous scope and replayed to anyone, unauthenticated callers included, who sends her key.
    [Fact]
    public async Task KeyedRequest_ToAnEndpointProtectedByTheFallbackPolicy_BeforeAuthorizationRan_IsRefused()
    {
        var executions = 0;
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Services.AddAuthentication("header").AddScheme<AuthenticationSchemeOptions, UserHeaderHandler>("header", null);
        builder.Services.AddAuthorization(o => o.FallbackPolicy = new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build());
        builder.Services.AddIdempotency();
        await using var app = builder.Build();
        app.UseRouting();
        app.UseIdempotency(); // misplaced: before authentication and authorization
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapPost("/pay", (HttpContext c) => { Interlocked.Increment(ref executions); return "secret of " + c.User.Identity!.Name; })
            .RequireIdempotency();
        await app.StartAsync();
        var client = app.GetTestClient();

        var alice = await client.SendAsync(TestApp.Post("/pay", "k", user: "alice"));
        var anonymous = await client.SendAsync(TestApp.Post("/pay", "k", user: null));

        Assert.DoesNotContain("secret of alice", await anonymous.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        await ProblemAssert.IsProblemAsync(alice, HttpStatusCode.InternalServerError, IdempotencyProblemTypes.PipelineMisordered);
        Assert.Equal(0, executions);
    }

    private sealed class UserHeaderHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            if (Request.Headers[TestApp.UserHeader] is not [{ Length: > 0 } user])
            {
                return Task.FromResult(AuthenticateResult.NoResult());
            }

            var identity = new ClaimsIdentity([new Claim(ClaimTypes.NameIdentifier, user), new Claim(ClaimTypes.Name, user)], Scheme.Name);
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Scheme.Name)));
        }
    }
}
