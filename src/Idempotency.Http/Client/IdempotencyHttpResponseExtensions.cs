using System.Net;

namespace Idempotency;

/// <summary>
/// Reads what the server said about idempotency from a response. Each method reads the response itself, so it gives
/// the same answer whether or not <see cref="IdempotencyKeyHandler"/> is in the pipeline, and whichever retried or
/// hedged copy of the request the response belongs to.
/// </summary>
public static class IdempotencyHttpResponseExtensions
{
    /// <summary>
    /// Gets whether the server answered from its idempotency store (<c>Idempotent-Replayed: true</c>): the request
    /// had already been processed, and this is its original response, status, headers and body.
    /// </summary>
    /// <param name="response">The response.</param>
    /// <returns><see langword="true"/> for a replayed response.</returns>
    public static bool IsIdempotentReplay(this HttpResponseMessage response)
    {
        ArgumentNullException.ThrowIfNull(response);
        return response.Headers.TryGetValues(IdempotencyProtocol.ReplayedHeaderName, out var values)
            && values.Any(v => string.Equals(v.Trim(), "true", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>
    /// Gets whether the server refused the key because it was already used for a different request: a 422
    /// <c>application/problem+json</c> whose <c>type</c> ends with <c>/key-reused</c>. That is a bug in the caller,
    /// never a transient failure: do not retry it, and use a new key only for a new operation. An application's own
    /// 422 (a validation error, say) is not a key reuse.
    /// </summary>
    /// <remarks>The body is buffered, so it can still be read after this call.</remarks>
    /// <param name="response">The response.</param>
    /// <param name="cancellationToken">Cancels reading the body.</param>
    /// <returns><see langword="true"/> when the key was reused for another request.</returns>
    public static Task<bool> IsIdempotencyKeyReusedAsync(this HttpResponseMessage response, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(response);
        return response.StatusCode == HttpStatusCode.UnprocessableEntity
            ? ProblemTypeReader.HasTypeAsync(response, ProblemTypeReader.KeyReused, cancellationToken)
            : Task.FromResult(false);
    }
}
