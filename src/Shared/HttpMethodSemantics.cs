using Microsoft.AspNetCore.Http;

namespace Idempotency.AspNetCore;

/// <summary>Method semantics from RFC 9110 section 9.2, shared by the middleware, the classifier and the OpenAPI transformers (compiled into each package).</summary>
internal static class HttpMethodSemantics
{
    /// <summary>GET, HEAD, OPTIONS and TRACE: read-only by definition, never deduplicated, always mirror-safe.</summary>
    public static bool IsSafe(string method) =>
        HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method) || HttpMethods.IsTrace(method);
}
