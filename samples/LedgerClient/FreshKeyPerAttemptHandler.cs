namespace LedgerClient;

/// <summary>
/// The client the demo warns against (<c>--no-keys</c>): a new key on every attempt, inside the retry loop, so every
/// retry looks like a new operation to the server. It satisfies a server that requires keys and protects nothing.
/// </summary>
public sealed class FreshKeyPerAttemptHandler : DelegatingHandler
{
    /// <inheritdoc />
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.Method == HttpMethod.Post)
        {
            request.Headers.Remove("Idempotency-Key");
            request.Headers.TryAddWithoutValidation("Idempotency-Key", "\"" + Guid.CreateVersion7() + "\"");
        }

        return base.SendAsync(request, cancellationToken);
    }
}
