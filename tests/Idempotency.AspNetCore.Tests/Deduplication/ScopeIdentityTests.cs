using System.Net;
using System.Security.Claims;
using Idempotency.AspNetCore.Deduplication;
using Idempotency.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Idempotency.AspNetCore.Tests.Deduplication;

/// <summary>
/// The default scope comes from authenticated identities only: a claim on an identity nobody authenticated (added by
/// claims transformation, or by middleware from request input) must never put a caller in another user's scope.
/// </summary>
public sealed class ScopeIdentityTests
{
    // Claims transformation adds an identity nobody authenticated, carrying this header's value as its NameIdentifier
    // (as an app might copy a user id from input): after the authenticated identities, or before them with the second.
    private const string UnauthenticatedIdHeader = "X-Unauthenticated-Id";
    private const string UnauthenticatedFirstHeader = "X-Unauthenticated-First";

    // Claims transformation adds a second authenticated identity carrying this header's value as its NameIdentifier.
    private const string SecondAuthenticatedIdHeader = "X-Second-Authenticated-Id";

    // Middleware before authentication sets, for a request nobody authenticates, a user whose only identity is not
    // authenticated and carries this header's value as its NameIdentifier.
    private const string AnonymousIdHeader = "X-Anonymous-Id";

    [Fact]
    public async Task UnauthenticatedIdentityCarryingAlicesId_DoesNotGiveAnAuthenticatedCallerWithoutAScopeClaim_AlicesReplay()
    {
        await using var app = await StartAsync();
        var alice = await app.SendAsync(TestApp.Post("/whoami", "shared-key", user: "alice"));

        // Bob authenticates with a scheme that issues no scope claim (an API key name), and carries alice's id on an
        // identity nobody authenticated.
        var bob = TestApp.Post("/whoami", "shared-key", user: "bob");
        bob.Headers.Add(TestApp.UserClaimTypeHeader, "api_key_name");
        bob.Headers.Add(UnauthenticatedIdHeader, "alice");
        var response = await app.SendAsync(bob);

        Assert.Equal("ran for alice", await alice.Content.ReadAsStringAsync());
        Assert.False(response.Headers.Contains("Idempotent-Replayed"));
        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.InternalServerError, IdempotencyProblemTypes.ScopeUnresolved);
    }

    [Fact]
    public async Task UnauthenticatedIdentityCarryingAlicesId_BeforeTheAuthenticatedOne_DoesNotGiveBobAlicesReplay()
    {
        await using var app = await StartAsync();
        await app.SendAsync(TestApp.Post("/whoami", "shared-key", user: "alice"));

        var bob = TestApp.Post("/whoami", "shared-key", user: "bob");
        bob.Headers.Add(UnauthenticatedIdHeader, "alice");
        bob.Headers.Add(UnauthenticatedFirstHeader, "1");
        var response = await app.SendAsync(bob);
        var bobAgain = TestApp.Post("/whoami", "shared-key", user: "bob");
        var again = await app.SendAsync(bobAgain);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(response.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal("ran for bob", await response.Content.ReadAsStringAsync());

        // Bob's record is his own: his retry without the extra identity replays it.
        Assert.True(again.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal("ran for bob", await again.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task AnonymousRequest_WithAnUnauthenticatedIdentityCarryingAlicesId_LandsInTheAnonymousScope()
    {
        await using var app = await StartAsync();
        await app.SendAsync(TestApp.Post("/whoami", "shared-key", user: "alice"));

        var spoofed = TestApp.Post("/whoami", "shared-key", user: null);
        spoofed.Headers.Add(AnonymousIdHeader, "alice");
        var response = await app.SendAsync(spoofed);
        var anonymous = await app.SendAsync(TestApp.Post("/whoami", "shared-key", user: null));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(response.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal("ran for anonymous", await response.Content.ReadAsStringAsync());

        // The scope it landed in is the anonymous one: a plain anonymous caller with the same key gets its replay.
        Assert.True(anonymous.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal("ran for anonymous", await anonymous.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task TwoAuthenticatedIdentitiesCarryingTheClaim_TheFirstInIdentitiesOrderNamesTheScope()
    {
        await using var app = await StartAsync();
        await app.SendAsync(TestApp.Post("/whoami", "shared-key", user: "alice"));

        // The authentication handler's identity (bob) comes first; transformation appends a second authenticated
        // identity carrying alice's id. The scope is bob's.
        var bob = TestApp.Post("/whoami", "shared-key", user: "bob");
        bob.Headers.Add(SecondAuthenticatedIdHeader, "alice");
        var response = await app.SendAsync(bob);

        Assert.False(response.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal("ran for bob", await response.Content.ReadAsStringAsync());
    }

    private static Task<TestApp> StartAsync() => TestApp.StartAsync(
        e => e.MapPost("/whoami", (HttpContext c) => "ran for " + (c.User.Identities.FirstOrDefault(i => i.IsAuthenticated)?.Claims.First().Value ?? "anonymous")).RequireIdempotency(),
        services: services =>
        {
            services.AddHttpContextAccessor();
            services.AddSingleton<IClaimsTransformation, IdentityAddingTransformation>();
            services.AddSingleton<IStartupFilter, AnonymousUserStartupFilter>();
        });

    private sealed class IdentityAddingTransformation(IHttpContextAccessor accessor) : IClaimsTransformation
    {
        public Task<ClaimsPrincipal> TransformAsync(ClaimsPrincipal principal)
        {
            var headers = accessor.HttpContext?.Request.Headers ?? throw new InvalidOperationException("No HttpContext.");
            var identities = principal.Identities.ToList();
            if (headers[UnauthenticatedIdHeader].ToString() is { Length: > 0 } unauthenticated)
            {
                var identity = new ClaimsIdentity([new Claim(ClaimTypes.NameIdentifier, unauthenticated)]);
                identities.Insert(headers.ContainsKey(UnauthenticatedFirstHeader) ? 0 : identities.Count, identity);
            }

            if (headers[SecondAuthenticatedIdHeader].ToString() is { Length: > 0 } second)
            {
                identities.Add(new ClaimsIdentity([new Claim(ClaimTypes.NameIdentifier, second)], "second-scheme"));
            }

            return Task.FromResult(new ClaimsPrincipal(identities));
        }
    }

    private sealed class AnonymousUserStartupFilter : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, nextMiddleware) =>
            {
                if (context.Request.Headers[AnonymousIdHeader].ToString() is { Length: > 0 } id)
                {
                    context.User = new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.NameIdentifier, id)]));
                }

                return nextMiddleware(context);
            });
            next(app);
        };
    }
}
