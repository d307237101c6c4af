using Idempotency.AspNetCore;
using Microsoft.AspNetCore.OpenApi;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Describes idempotency keys and preconditions in the OpenAPI documents of <c>Microsoft.AspNetCore.OpenApi</c>
/// (<c>services.AddOpenApi(options => options.AddIdempotencyKeys().AddPreconditions())</c>).
/// </summary>
/// <remarks>
/// In the <c>Microsoft.Extensions.DependencyInjection</c> namespace, like <c>AddIdempotency()</c>, so the calls need no
/// <c>using</c> inside the <c>AddOpenApi</c> callback.
/// </remarks>
public static class IdempotencyOpenApiOptionsExtensions
{
    /// <summary>
    /// Adds an operation transformer that, on every unsafe operation with idempotency metadata
    /// (<c>.RequireIdempotency()</c>, <c>.EnableIdempotency()</c> or their attributes), declares the
    /// <c>Idempotency-Key</c> header (required or optional, as the endpoint says), the 400, 409 and 422
    /// <c>application/problem+json</c> responses the middleware writes, and the <c>Idempotent-Replayed</c> header on
    /// success responses. Safe methods and endpoints with <c>.DisableIdempotency()</c> are left alone, as the
    /// middleware leaves them. The header name and key length come from <see cref="IdempotencyOptions"/>.
    /// </summary>
    /// <param name="options">The OpenAPI document options.</param>
    /// <returns>The same options.</returns>
    public static OpenApiOptions AddIdempotencyKeys(this OpenApiOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.AddOperationTransformer(new IdempotencyKeyOperationTransformer());
    }

    /// <summary>
    /// Adds an operation transformer that, on every unsafe operation with <see cref="IPreconditionMetadata"/>
    /// (<c>.RequirePrecondition()</c> or <see cref="RequirePreconditionAttribute"/>), declares the <c>If-Match</c> and
    /// <c>If-None-Match</c> headers (one of them is required; OpenAPI cannot say "one of", so each is optional and says
    /// so) and the 400, 412 and 428 <c>application/problem+json</c> responses.
    /// </summary>
    /// <param name="options">The OpenAPI document options.</param>
    /// <returns>The same options.</returns>
    public static OpenApiOptions AddPreconditions(this OpenApiOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.AddOperationTransformer(new PreconditionOperationTransformer());
    }
}
