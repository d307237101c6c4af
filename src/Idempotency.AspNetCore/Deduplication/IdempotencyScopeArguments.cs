using Microsoft.AspNetCore.Http;

namespace Idempotency.AspNetCore.Deduplication;

/// <summary>The arguments of <see cref="IdempotencyOptions.ScopeResolver"/>.</summary>
/// <param name="context">The request whose key is being scoped.</param>
public readonly struct IdempotencyScopeArguments(HttpContext context)
{
    /// <summary>Gets the request whose key is being scoped.</summary>
    public HttpContext Context { get; } = context;
}
