using System.Net.Http.Headers;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Idempotency.AspNetCore.Deduplication;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Idempotency.AspNetCore.Tests.Infrastructure;

/// <summary>A minimal app on TestServer: authentication by an <c>X-User</c> header, then the idempotency middleware.</summary>
internal sealed class TestApp : IAsyncDisposable
{
    public const string UserHeader = "X-User";

    /// <summary>The scope the middleware derives for the default user, alice: her id qualified by the default issuer.</summary>
    public const string AliceScope = "15:LOCAL AUTHORITY:alice";

    /// <summary>The claim type the user's id is issued as; <see cref="ClaimTypes.NameIdentifier"/> when absent.</summary>
    public const string UserClaimTypeHeader = "X-User-Claim-Type";

    /// <summary>The issuer of the user's claim; the identity's default issuer when absent.</summary>
    public const string UserIssuerHeader = "X-User-Issuer";

    private readonly WebApplication _app;

    private TestApp(WebApplication app)
    {
        _app = app;
        Client = app.GetTestClient();
    }

    public HttpClient Client { get; }

    public IServiceProvider Services => _app.Services;

    public static async Task<TestApp> StartAsync(
        Action<IEndpointRouteBuilder> map,
        Action<IdempotencyOptions>? configure = null,
        Action<IServiceCollection>? services = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Services.AddAuthentication(HeaderAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, HeaderAuthenticationHandler>(HeaderAuthenticationHandler.SchemeName, null);
        builder.Services.AddAuthorization();
        builder.Services.AddProblemDetails();
        builder.Services.AddIdempotency(configure);
        services?.Invoke(builder.Services);

        var app = builder.Build();
        app.UseRouting();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseIdempotency();
        map(app);
        await app.StartAsync();
        return new TestApp(app);
    }

    public static HttpRequestMessage Post(string path, string? key, string body = "{}", string? user = "alice")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, MediaTypeHeaderValue.Parse("application/json")) };
        if (key is not null)
        {
            request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
        }

        if (user is not null)
        {
            request.Headers.Add(UserHeader, user);
        }

        return request;
    }

    public Task<HttpResponseMessage> SendAsync(HttpRequestMessage request) => Client.SendAsync(request);

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.DisposeAsync();
    }

    private sealed class HeaderAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        public const string SchemeName = "TestHeader";

        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            var user = Request.Headers[UserHeader].ToString();
            if (user.Length == 0)
            {
                return Task.FromResult(AuthenticateResult.NoResult());
            }

            var claimType = Request.Headers[UserClaimTypeHeader].ToString() is { Length: > 0 } type ? type : ClaimTypes.NameIdentifier;
            var issuer = Request.Headers[UserIssuerHeader].ToString() is { Length: > 0 } named ? named : ClaimsIdentity.DefaultIssuer;
            var identity = new ClaimsIdentity([new Claim(claimType, user, ClaimValueTypes.String, issuer)], SchemeName);
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
        }
    }
}
