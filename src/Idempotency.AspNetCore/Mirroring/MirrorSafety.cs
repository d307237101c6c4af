using Idempotency.AspNetCore.Deduplication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Idempotency.AspNetCore.Mirroring;

/// <summary>
/// Classifies endpoints and requests by how safely they can be processed twice, as mirrored copies (shadow traffic)
/// on a canary. Endpoint metadata (<c>.MirrorSafe()</c>, <c>.IdempotentByDesign()</c>, <c>.NotMirrorSafe()</c>)
/// overrides what the method implies; connection upgrades and CONNECT are always unsafe.
/// </summary>
public static class MirrorSafety
{
    /// <summary>The method that stands for "any method", for endpoints that accept every method.</summary>
    public const string AnyMethod = "*";

    /// <summary>
    /// Classifies requests with <paramref name="method"/> to <paramref name="endpoint"/>, before any request is seen.
    /// Classes that hold only for requests with certain headers say so in <see cref="MirrorClassification.Condition"/>.
    /// </summary>
    /// <param name="endpoint">The endpoint; <see langword="null"/> for a request that matched none.</param>
    /// <param name="method">The HTTP method, or <see cref="AnyMethod"/> for an endpoint that accepts every method.</param>
    /// <returns>The class, its reason and its condition.</returns>
    public static MirrorClassification ClassifyEndpoint(Endpoint? endpoint, string method)
    {
        ArgumentNullException.ThrowIfNull(method);
        return MirrorSafetyClassifier.Classify(endpoint?.Metadata, method, facts: null);
    }

    /// <summary>
    /// Classifies one request from its endpoint, its method and its headers: an endpoint that requires an
    /// <c>Idempotency-Key</c> is <see cref="MirrorSafetyClass.Deduplicated"/> only for requests that carry one.
    /// Call it after routing, so the endpoint is known.
    /// </summary>
    /// <param name="context">The request.</param>
    /// <returns>The class and its reason.</returns>
    public static MirrorClassification ClassifyRequest(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var keyHeader = context.RequestServices?.GetService<IOptions<IdempotencyOptions>>()?.Value.HeaderName ?? IdempotencyDefaults.HeaderName;
        return MirrorSafetyClassifier.Classify(context, keyHeader);
    }
}
