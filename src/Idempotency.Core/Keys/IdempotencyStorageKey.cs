using System.Globalization;

namespace Idempotency;

/// <summary>
/// Builds the key under which a record is stored: a composite of the client's scope (who is asking) and the
/// client's idempotency key, so one client can never read another client's stored outcome.
/// </summary>
public static class IdempotencyStorageKey
{
    /// <summary>
    /// Combines <paramref name="scope"/> and <paramref name="key"/> into one unambiguous storage key.
    /// The scope is length-prefixed, so no choice of scope and key can collide with another pair.
    /// </summary>
    /// <param name="scope">Who the key belongs to (a user id, a tenant, an API key id); empty for anonymous callers.</param>
    /// <param name="key">The client's idempotency key, already validated.</param>
    /// <returns>A storage key of the form <c>{scope length}:{scope}:{key}</c>.</returns>
    public static string Create(string scope, string key)
    {
        ArgumentNullException.ThrowIfNull(scope);
        ArgumentException.ThrowIfNullOrEmpty(key);
        return string.Create(CultureInfo.InvariantCulture, $"{scope.Length}:{scope}:{key}");
    }
}
