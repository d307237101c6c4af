using System.Security.Claims;
using System.Text.Encodings.Web;
using Grpc.Core;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Idempotency.Grpc.AspNetCore.Tests;

/// <summary>
/// As over HTTP, the default scope of a call comes from authenticated identities only: a claim on an identity nobody
/// authenticated (claims transformation, middleware copying input) never puts a caller in another user's scope.
/// </summary>
public sealed class ScopeIdentityTests
{
    [Fact]
    public async Task UnauthenticatedIdentityCarryingAlicesSub_DoesNotGiveACallerWithoutAScopeClaim_AlicesReply()
    {
        await using var server = await StartAsync();
        var request = new DepositRequest { Account = "shared", Amount = 1 };
        await server.Client.DepositAsync(request, As("alice", "k-1"));

        // Authenticated without a subject, carrying alice's on an identity nobody authenticated.
        var metadata = As(string.Empty, "k-1");
        metadata.Add("x-unauthenticated-sub", "alice");
        var error = await Assert.ThrowsAsync<RpcException>(() => server.Client.DepositAsync(request, metadata).ResponseAsync);

        Assert.Equal(StatusCode.Internal, error.StatusCode);
        Assert.Equal(1, server.State.Executions);
    }

    [Fact]
    public async Task UnauthenticatedIdentityCarryingAlicesSub_BeforeBobsIdentity_DoesNotGiveBobAlicesReply()
    {
        await using var server = await StartAsync();
        var request = new DepositRequest { Account = "shared", Amount = 1 };
        var alice = await server.Client.DepositAsync(request, As("alice", "k-1"));

        var metadata = As("bob", "k-1");
        metadata.Add("x-unauthenticated-sub", "alice");
        metadata.Add("x-unauthenticated-first", "1");
        var bob = await server.Client.DepositAsync(request, metadata);

        Assert.Equal(1, alice.Execution);
        Assert.Equal(2, bob.Execution);
        Assert.Equal(2, server.State.Executions);
    }

    private static Task<GrpcTestServer> StartAsync() => GrpcTestServer.StartAsync(
        services =>
        {
            services.AddAuthentication(HeaderAuthenticationHandler.SchemeName)
                .AddScheme<AuthenticationSchemeOptions, HeaderAuthenticationHandler>(HeaderAuthenticationHandler.SchemeName, null);
            services.AddHttpContextAccessor();
            services.AddSingleton<IClaimsTransformation, IdentityAddingTransformation>();
        },
        app =>
        {
            app.UseAuthentication();
            app.MapGrpcService<LedgerService>();
        });

    private static Metadata As(string user, string key) => new() { { "x-user", user }, { "idempotency-key", key } };

    /// <summary>Adds an identity nobody authenticated, carrying the <c>x-unauthenticated-sub</c> entry as its <c>sub</c>.</summary>
    private sealed class IdentityAddingTransformation(IHttpContextAccessor accessor) : IClaimsTransformation
    {
        public Task<ClaimsPrincipal> TransformAsync(ClaimsPrincipal principal)
        {
            var headers = accessor.HttpContext?.Request.Headers ?? throw new InvalidOperationException("No HttpContext.");
            if (headers["x-unauthenticated-sub"].ToString() is not { Length: > 0 } sub)
            {
                return Task.FromResult(principal);
            }

            var identities = principal.Identities.ToList();
            var identity = new ClaimsIdentity([new Claim("sub", sub, ClaimValueTypes.String, "test-issuer")]);
            identities.Insert(headers.ContainsKey("x-unauthenticated-first") ? 0 : identities.Count, identity);
            return Task.FromResult(new ClaimsPrincipal(identities));
        }
    }

    /// <summary>Authenticates every call that has an <c>x-user</c> entry; an empty one authenticates without a subject.</summary>
    private sealed class HeaderAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        public const string SchemeName = "header";

        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            if (!Request.Headers.TryGetValue("x-user", out var user))
            {
                return Task.FromResult(AuthenticateResult.NoResult());
            }

            Claim[] claims = user.ToString().Length == 0 ? [] : [new Claim("sub", user.ToString(), ClaimValueTypes.String, "test-issuer")];
            var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName));
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName)));
        }
    }
}
