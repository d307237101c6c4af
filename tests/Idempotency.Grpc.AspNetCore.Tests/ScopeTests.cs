using System.Security.Claims;
using System.Text.Encodings.Web;
using Grpc.Core;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Idempotency.Grpc.AspNetCore.Tests;

public sealed class ScopeTests
{
    [Fact]
    public async Task SameKeyFromTwoAuthenticatedUsers_RunsForEach_AndReplaysOnlyToItsOwner()
    {
        await using var server = await StartAsync();
        var request = new DepositRequest { Account = "shared", Amount = 1 };

        var alice = await server.Client.DepositAsync(request, As("alice", "k-1"));
        var bob = await server.Client.DepositAsync(request, As("bob", "k-1"));
        var aliceAgain = await server.Client.DepositAsync(request, As("alice", "k-1"));

        Assert.Equal(1, alice.Execution);
        Assert.Equal(2, bob.Execution);
        Assert.Equal(alice, aliceAgain);
        Assert.Equal(2, server.State.Executions);
    }

    [Fact]
    public async Task AuthenticatedCallerWithoutAScopeClaim_IsRefused_AndDoesNotRun()
    {
        await using var server = await StartAsync();

        var error = await Assert.ThrowsAsync<RpcException>(() =>
            server.Client.DepositAsync(new DepositRequest { Account = "a" }, As(string.Empty, "k-2")).ResponseAsync);

        Assert.Equal(StatusCode.Internal, error.StatusCode);
        Assert.Equal(0, server.State.Executions);
    }

    private static Task<GrpcTestServer> StartAsync() => GrpcTestServer.StartAsync(
        services => services.AddAuthentication(HeaderAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, HeaderAuthenticationHandler>(HeaderAuthenticationHandler.SchemeName, null),
        app =>
        {
            app.UseAuthentication();
            app.MapGrpcService<LedgerService>();
        });

    private static Metadata As(string user, string key) => new() { { "x-user", user }, { "idempotency-key", key } };

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
