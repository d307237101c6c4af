using System.Globalization;
using System.Security.Claims;

namespace Idempotency.AspNetCore.Deduplication;

/// <summary>
/// The default scope of a caller, from its authenticated identities only. Compiled into the HTTP middleware and the
/// gRPC interceptor, so that both front ends put one caller in the same scope.
/// </summary>
/// <remarks>
/// <see cref="ClaimsPrincipal.FindFirst(string)"/> searches every identity of the principal, authenticated or not: a
/// claim on an identity nobody authenticated (added by claims transformation, or by middleware from request input)
/// would name the scope, and a caller could read another user's records. Here such identities are skipped.
/// </remarks>
internal static class IdempotencyScopeClaims
{
    /// <summary>Whether any identity of <paramref name="user"/> is authenticated.</summary>
    public static bool IsAuthenticated(ClaimsPrincipal user)
    {
        foreach (var identity in user.Identities)
        {
            if (identity.IsAuthenticated)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The scope named by the first of <paramref name="claimTypes"/> that an authenticated identity of
    /// <paramref name="user"/> carries with a non-empty value, qualified by the claim's issuer:
    /// <c>{issuer length}:{issuer}:{value}</c>; <see langword="null"/> when none does. Claim types are tried in their
    /// order; for each, the authenticated identities in the principal's order (for a principal merged from several
    /// schemes, the identities of the scheme authenticated last come first), and of each identity the first claim of
    /// that type, which names the scope when its value is not empty.
    /// </summary>
    public static string? DefaultScope(ClaimsPrincipal user, IList<string> claimTypes)
    {
        foreach (var claimType in claimTypes)
        {
            foreach (var identity in user.Identities)
            {
                if (identity.IsAuthenticated && identity.FindFirst(claimType) is { Value.Length: > 0 } claim)
                {
                    return string.Create(CultureInfo.InvariantCulture, $"{claim.Issuer.Length}:{claim.Issuer}:{claim.Value}");
                }
            }
        }

        return null;
    }
}
