using System.Buffers;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;

namespace Idempotency.AspNetCore;

internal sealed partial class IdempotencyMiddleware
{
    private const int BodyChunkSize = 16 * 1024;

    // Bodies up to this size, with a declared Content-Length, are read into one pooled buffer; larger or chunked
    // bodies go through ASP.NET Core's request buffering (memory, then a temporary file).
    private const int PooledBodyLimit = 64 * 1024;

    /// <summary>
    /// SHA-256 over the method, the endpoint's route pattern, the path, the query and the body. The body is hashed as
    /// it is read into the buffer the handler will then read from: one pooled array for small bodies, ASP.NET Core's
    /// request buffer for large ones. It is never held twice.
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

        if (request.ContentLength == 0 || context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody == false)
        {
            return fingerprint.Finish();
        }

        if (request.ContentLength is long length && length <= PooledBodyLimit)
        {
            await BufferSmallBodyAsync(context, (int)length, fingerprint);
        }
        else
        {
            await BufferLargeBodyAsync(context, fingerprint);
        }

        return fingerprint.Finish();
    }

    private static async ValueTask BufferSmallBodyAsync(HttpContext context, int length, RequestFingerprintBuilder fingerprint)
    {
        var request = context.Request;
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        var read = 0;
        try
        {
            int count;
            while (read < length && (count = await request.Body.ReadAsync(buffer.AsMemory(read, length - read), context.RequestAborted)) > 0)
            {
                read += count;
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }

        fingerprint.AppendBody(buffer.AsSpan(0, read));
        request.Body = new MemoryStream(buffer, 0, read, writable: false);
        context.Response.RegisterForDispose(new PooledArray(buffer));
    }

    private static async ValueTask BufferLargeBodyAsync(HttpContext context, RequestFingerprintBuilder fingerprint)
    {
        var request = context.Request;
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

    /// <summary>Returns a buffered request body to the pool when the request ends.</summary>
    private sealed class PooledArray(byte[] array) : IDisposable
    {
        public void Dispose() => ArrayPool<byte>.Shared.Return(array);
    }
}
