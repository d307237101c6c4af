using System.Net;

namespace Idempotency;

/// <summary>Reads what the server said about idempotency from a response.</summary>
public static class IdempotencyHttpResponseExtensions
{
    internal static readonly HttpRequestOptionsKey<bool> ReplayedOption = new("Idempotency.Replayed");

    /// <summary>
    /// Gets whether the server answered from its idempotency store (<c>Idempotent-Replayed: true</c>): the request
    /// had already been processed, and this is its original response.
    /// </summary>
    /// <param name="response">The response.</param>
    /// <returns><see langword="true"/> for a replayed response.</returns>
    public static bool IsIdempotentReplay(this HttpResponseMessage response)
    {
        ArgumentNullException.ThrowIfNull(response);
        return response.Headers.TryGetValues(IdempotencyDefaults.ReplayedHeaderName, out var values)
            && values.Any(v => string.Equals(v.Trim(), "true", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>
    /// Gets whether the server refused the key because it was already used for a different request (422). That is
    /// a bug in the caller, never a transient failure: do not retry it.
    /// </summary>
    /// <param name="response">The response.</param>
    /// <returns><see langword="true"/> for a 422 answer.</returns>
    public static bool IsIdempotencyKeyReused(this HttpResponseMessage response)
    {
        ArgumentNullException.ThrowIfNull(response);
        return response.StatusCode == HttpStatusCode.UnprocessableEntity;
    }
}
