using Microsoft.AspNetCore.Http;

namespace Idempotency.AspNetCore.Deduplication;

/// <summary>The arguments of <see cref="IdempotencyOptions.ShouldStoreResponse"/>.</summary>
/// <param name="context">The request that just ran.</param>
public readonly struct IdempotencyOutcomeArguments(HttpContext context)
{
    /// <summary>Gets the request that just ran; its response has been produced.</summary>
    public HttpContext Context { get; } = context;

    /// <summary>Gets the response status code.</summary>
    public int StatusCode => Context.Response.StatusCode;
}
