namespace Idempotency.AspNetCore.Deduplication;

/// <summary>
/// The idempotency state of a request that is running under a claimed key, on <c>HttpContext.Features</c>.
/// Absent when the endpoint has no idempotency or the request carried no key.
/// </summary>
public interface IIdempotencyFeature
{
    /// <summary>Gets the client's key, as parsed from the header.</summary>
    string Key { get; }

    /// <summary>
    /// Gets who the key belongs to: by default the user's id qualified by its issuer (<c>{issuer length}:{issuer}:{id}</c>,
    /// see <see cref="IdempotencyOptions.ScopeClaimTypes"/>), else what <see cref="IdempotencyOptions.ScopeResolver"/>
    /// returned; empty for anonymous callers.
    /// </summary>
    string Scope { get; }

    /// <summary>
    /// Derives a stable key for a downstream call made by this request, so that the downstream effect is
    /// idempotent too: every retry of this request derives the same key for the same <paramref name="purpose"/>.
    /// </summary>
    /// <param name="purpose">What the downstream call is for, such as <c>"payment"</c> or <c>"email:receipt"</c>.</param>
    /// <returns>A 64-character hexadecimal key, unique to this scope, key and purpose.</returns>
    string DeriveKey(string purpose);
}
