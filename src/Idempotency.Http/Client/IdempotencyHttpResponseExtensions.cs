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
    /// <c>application/problem+json</c> whose <c>type</c> ends with <c>key-reused</c> after a <c>/</c> or <c>#</c>. That is a bug in the caller,
    /// never a transient failure: do not retry it, and use a new key only for a new operation. An application's own
    /// 422 (a validation error, say) is not a key reuse.
    /// </summary>
    /// <remarks>
    /// At most 16 KiB of the body is read: a longer body (or one declaring a longer <c>Content-Length</c>) is never the
    /// server's <c>key-reused</c> problem, so the answer is <see langword="false"/>. The whole body can still be read
    /// through <see cref="HttpResponseMessage.Content"/> after this call, which may have replaced it: a body of unknown
    /// length is handed back as the bytes read followed by the rest of the stream.
    /// </remarks>
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

    /// <summary>
    /// Gets whether the server answered that the original request with this key is still running: a 409
    /// <c>application/problem+json</c> whose <c>type</c> ends with <c>request-in-flight</c> after a <c>/</c> or <c>#</c>,
    /// normally with <c>Retry-After</c>. Sending the same request again, with the same key, after <c>Retry-After</c>
    /// receives the original's stored answer. An application's own 409 (insufficient funds, say) is not one.
    /// </summary>
    /// <remarks>
    /// <para>
    /// For the resilience pipeline's retry, as its <c>ShouldHandle</c> predicate next to the transient failures, so
    /// that the pipeline, not <see cref="IdempotencyKeyHandler"/>, re-sends the 409 (set
    /// <see cref="IdempotencyKeyHandlerOptions.MaxInFlightRetries"/> to 0); <c>HttpRetryStrategyOptions.ShouldRetryAfterHeader</c>
    /// (on by default) makes it wait <c>Retry-After</c>:
    /// </para>
    /// <code>
    /// options.Retry.ShouldHandle = async args =>
    ///     HttpClientResiliencePredicates.IsTransient(args.Outcome)
    ///     || args.Outcome.Result is { } response &amp;&amp; await response.IsIdempotencyRequestInFlightAsync(args.Context.CancellationToken);
    /// </code>
    /// <para>
    /// At most 16 KiB of the body is read: a longer body (or one declaring a longer <c>Content-Length</c>) is never the
    /// server's <c>request-in-flight</c> problem, so the answer is <see langword="false"/>. The whole body can still be
    /// read through <see cref="HttpResponseMessage.Content"/> after this call, which may have replaced it: a body of
    /// unknown length is handed back as the bytes read followed by the rest of the stream.
    /// </para>
    /// </remarks>
    /// <param name="response">The response.</param>
    /// <param name="cancellationToken">Cancels reading the body.</param>
    /// <returns><see langword="true"/> when the original request with this key is still running.</returns>
    public static Task<bool> IsIdempotencyRequestInFlightAsync(this HttpResponseMessage response, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(response);
        return response.StatusCode == HttpStatusCode.Conflict
            ? ProblemTypeReader.HasTypeAsync(response, ProblemTypeReader.RequestInFlight, cancellationToken)
            : Task.FromResult(false);
    }
}
