using Idempotency.AspNetCore.Deduplication;
using Idempotency.AspNetCore.OpenApi;
using Idempotency.AspNetCore.Preconditions;
using Microsoft.AspNetCore.OpenApi;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Describes idempotency keys and preconditions in the OpenAPI documents of <c>Microsoft.AspNetCore.OpenApi</c>
/// (<c>services.AddOpenApi(options => options.DescribeIdempotencyKeys().DescribePreconditions())</c>).
/// </summary>
/// <remarks>
/// <para>
/// The methods are named <c>Describe…</c> because they only document what the middleware enforces; they add no
/// behaviour. They must not read like the HttpClient handler's <c>AddIdempotencyKeys()</c> (Idempotency.Core), which
/// does put a key on every request: both live in this namespace, and an app that calls its own API often has both.
/// </para>
/// <para>
/// In the <c>Microsoft.Extensions.DependencyInjection</c> namespace, like <c>AddIdempotency()</c>, so the calls need no
/// <c>using</c> inside the <c>AddOpenApi</c> callback.
/// </para>
/// </remarks>
public static class IdempotencyOpenApiOptionsExtensions
{
    /// <summary>
    /// Adds an operation transformer that, on every unsafe operation with idempotency metadata
    /// (<c>.RequireIdempotency()</c>, <c>.EnableIdempotency()</c> or their attributes), declares the
    /// <c>Idempotency-Key</c> header (required or optional, as the endpoint says), the 400, 409, 422, 429 and 500
    /// <c>application/problem+json</c> responses the middleware writes, and the <c>Idempotent-Replayed</c> header on
    /// success responses. Safe methods and endpoints with <c>.DisableIdempotency()</c> are left alone, as the
    /// middleware leaves them. The header name and key length come from <see cref="IdempotencyOptions"/>.
    /// </summary>
    /// <param name="options">The OpenAPI document options.</param>
    /// <returns>The same options.</returns>
    public static OpenApiOptions DescribeIdempotencyKeys(this OpenApiOptions options)
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
    public static OpenApiOptions DescribePreconditions(this OpenApiOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.AddOperationTransformer(new PreconditionOperationTransformer());
    }
}
