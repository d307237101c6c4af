using System.Net;
using System.Security.Claims;
using Idempotency.AspNetCore.Deduplication;
using Idempotency.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Idempotency.AspNetCore.Tests.Deduplication;

/// <summary>
/// An authenticated caller never lands in a scope it shares with others: a scope that cannot be derived, or a pipeline
/// where authorization has not run, refuses the request instead of running or replaying it.
/// </summary>
public sealed class ScopeFailClosedTests
{
    [Fact]
    public async Task AuthenticatedUserWithOnlyANameClaim_IsRefused_AndNeverReceivesTheAnonymousScopesResponse()
    {
        var executions = 0;
        await using var app = await TestApp.StartAsync(e => e.MapPost("/pay", (HttpContext c) => $"run {Interlocked.Increment(ref executions)} for {c.User.Identity?.Name ?? "anonymous"}").RequireIdempotency());

        var anonymous = await app.SendAsync(TestApp.Post("/pay", "k", user: null));
        var nameOnly = TestApp.Post("/pay", "k", user: "mallory");
        nameOnly.Headers.Add(TestApp.UserClaimTypeHeader, ClaimTypes.Name);
        var refused = await app.SendAsync(nameOnly);

        Assert.Equal("run 1 for anonymous", await anonymous.Content.ReadAsStringAsync());
        await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.InternalServerError, IdempotencyProblemTypes.ScopeUnresolved);
        Assert.False(refused.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(1, executions);
    }

    [Fact]
    public async Task ScopeClaimTypes_CanNameTheClaimAnApiKeySchemeIssues()
    {
        var executions = 0;
        await using var app = await TestApp.StartAsync(
            e => e.MapPost("/pay", () => Interlocked.Increment(ref executions)).RequireIdempotency(),
            o => o.ScopeClaimTypes.Add(ClaimTypes.Name));

        foreach (var user in new[] { "key-1", "key-1", "key-2" })
        {
            var request = TestApp.Post("/pay", "k", user: user);
            request.Headers.Add(TestApp.UserClaimTypeHeader, ClaimTypes.Name);
            Assert.Equal(HttpStatusCode.OK, (await app.SendAsync(request)).StatusCode);
        }

        Assert.Equal(2, executions);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public async Task ScopeResolverReturningNothing_ForAnAuthenticatedUser_IsRefused(string? resolved)
    {
        var executions = 0;
        await using var app = await TestApp.StartAsync(
            e => e.MapPost("/pay", () => Interlocked.Increment(ref executions)).RequireIdempotency(),
            o => o.ScopeResolver = _ => ValueTask.FromResult(resolved));

        var anonymous = await app.SendAsync(TestApp.Post("/pay", "k", user: null));
        var refused = await app.SendAsync(TestApp.Post("/pay", "k", user: "alice"));

        Assert.Equal(HttpStatusCode.OK, anonymous.StatusCode);
        await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.InternalServerError, IdempotencyProblemTypes.ScopeUnresolved);
        Assert.Equal(1, executions);
    }

    [Fact]
    public async Task SameUserIdFromTwoIssuers_NeverSharesRecords()
    {
        var executions = 0;
        await using var app = await TestApp.StartAsync(e => e.MapPost("/pay", () => Interlocked.Increment(ref executions)).RequireIdempotency());

        foreach (var issuer in new[] { "https://idp-a.example", "https://idp-b.example", "https://idp-a.example" })
        {
            var request = TestApp.Post("/pay", "k", user: "42");
            request.Headers.Add(TestApp.UserIssuerHeader, issuer);
            await app.SendAsync(request);
        }

        Assert.Equal(2, executions);
    }

    [Fact]
    public async Task UnresolvedScope_LogsTheClaimToConfigure_WithoutTheUserOrKey()
    {
        var logs = new FakeLogCollector();
        await using var app = await TestApp.StartAsync(
            e => e.MapPost("/pay", () => "ok").RequireIdempotency(),
            services: s => s.AddLogging(l => l.AddProvider(new FakeLoggerProvider(logs))));
        var request = TestApp.Post("/pay", "secret-key-value", user: "mallory");
        request.Headers.Add(TestApp.UserClaimTypeHeader, ClaimTypes.Name);

        await app.SendAsync(request);

        var record = Assert.Single(logs.GetSnapshot(), r => r.Id.Name == "ScopeUnresolved");
        Assert.Equal(LogLevel.Error, record.Level);
        Assert.Contains("ScopeClaimTypes", record.Message, StringComparison.Ordinal);
        Assert.Contains(ClaimTypes.NameIdentifier, record.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("mallory", record.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-key-value", record.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KeyedRequest_ReachingAnEndpointThatRequiresAuthorization_BeforeAuthorizationRan_IsRefused()
    {
        var executions = 0;
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Services.AddAuthentication("none").AddScheme<AuthenticationSchemeOptions, NoAuthenticationHandler>("none", null);
        builder.Services.AddAuthorization();
        builder.Services.AddIdempotency();
        await using var app = builder.Build();
        app.UseRouting();
        app.UseIdempotency(); // misplaced: before authentication and authorization
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapPost("/pay", () => Interlocked.Increment(ref executions)).RequireAuthorization().RequireIdempotency();
        app.MapPost("/public", () => Interlocked.Increment(ref executions)).RequireIdempotency();
        await app.StartAsync();
        var client = app.GetTestClient();

        var refused = await client.SendAsync(TestApp.Post("/pay", "k", user: null));
        var anonymousEndpoint = await client.SendAsync(TestApp.Post("/public", "k2", user: null));

        await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.InternalServerError, IdempotencyProblemTypes.PipelineMisordered);
        Assert.Equal(HttpStatusCode.OK, anonymousEndpoint.StatusCode);
        Assert.Equal(1, executions);
    }

    [Fact]
    public async Task AnonymousCaller_OnAnEndpointWhoseAuthorizationAllowsIt_KeepsTheAnonymousScope()
    {
        var executions = 0;
        await using var app = await TestApp.StartAsync(e => e.MapPost("/pay", () => Interlocked.Increment(ref executions))
            .RequireAuthorization(p => p.RequireAssertion(_ => true)).RequireIdempotency());

        var first = await app.SendAsync(TestApp.Post("/pay", "k", user: null));
        var retry = await app.SendAsync(TestApp.Post("/pay", "k", user: null));

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(1, executions);
    }

    private sealed class NoAuthenticationHandler(
        Microsoft.Extensions.Options.IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, System.Text.Encodings.Web.UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        protected override Task<AuthenticateResult> HandleAuthenticateAsync() => Task.FromResult(AuthenticateResult.NoResult());
    }
}
