using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace BankLedger.Auth;

/// <summary>
/// Demo authentication: <c>Authorization: Bearer &lt;token&gt;</c>, where the tokens and their users come from
/// configuration (<c>Auth:Tokens:alice-token = alice</c>). Not for production: use JWT bearer or cookies there.
/// </summary>
public sealed class DemoBearerAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    IConfiguration configuration)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "DemoBearer";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        var token = header["Bearer ".Length..].Trim();
        var user = token.Length == 0 ? null : configuration[$"Auth:Tokens:{token}"];
        if (string.IsNullOrEmpty(user))
        {
            return Task.FromResult(AuthenticateResult.Fail("Unknown bearer token."));
        }

        var identity = new ClaimsIdentity([new Claim(ClaimTypes.NameIdentifier, user), new Claim(ClaimTypes.Name, user)], SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }
}
