using System.Buffers;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;

namespace Idempotency.AspNetCore;

internal sealed partial class IdempotencyMiddleware
{
    private const int BodyChunkSize = 16 * 1024;

    /// <summary>
    /// SHA-256 over the method, the endpoint's route pattern, the path, the query and the body. The body is hashed as
    /// it is read into ASP.NET Core's request buffer (memory, then a temporary file for large bodies), and rewound for
    /// the handler; it is never held twice.
    /// </summary>
    private static async ValueTask<byte[]> ComputeFingerprintAsync(HttpContext context, Endpoint endpoint)
    {
        var request = context.Request;
        using var fingerprint = new RequestFingerprintBuilder();
        fingerprint.AppendField(request.Method);
        fingerprint.AppendField((endpoint as RouteEndpoint)?.RoutePattern.RawText ?? endpoint.DisplayName);
        fingerprint.AppendField(request.PathBase.Value);
        fingerprint.AppendField(request.Path.Value);
        fingerprint.AppendField(request.QueryString.Value);

        if (context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody != false)
        {
            request.EnableBuffering();
            var buffer = ArrayPool<byte>.Shared.Rent(BodyChunkSize);
            try
            {
                int read;
                while ((read = await request.Body.ReadAsync(buffer.AsMemory(0, BodyChunkSize), context.RequestAborted)) > 0)
                {
                    fingerprint.AppendBody(buffer.AsSpan(0, read));
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            request.Body.Position = 0;
        }

        return fingerprint.Finish();
    }
}
