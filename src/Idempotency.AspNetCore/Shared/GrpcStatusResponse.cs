using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Idempotency.AspNetCore;

/// <summary>
/// Answers a gRPC call that the library refuses before it reaches its service (the mirror guard's refusals) with a
/// gRPC status rather than a problem+json body: HTTP 200 and a trailers-only response, <c>grpc-status</c> and a
/// percent-encoded <c>grpc-message</c> in the headers, as Grpc.AspNetCore answers a call to an unimplemented method. A
/// gRPC client reads an HTTP error status only as "Bad gRPC response. HTTP status code: 403", without the reason.
/// </summary>
internal static class GrpcStatusResponse
{
    /// <summary>The gRPC status code PERMISSION_DENIED (Idempotency.AspNetCore does not depend on gRPC).</summary>
    public const int PermissionDenied = 7;

    private const string GrpcContentType = "application/grpc";
    private const string GrpcWebContentType = "application/grpc-web";
    private const string GrpcWebTextContentType = "application/grpc-web-text";

    /// <summary>
    /// Whether <paramref name="request"/> is a gRPC call: <c>application/grpc</c>, <c>application/grpc-web</c> or
    /// <c>application/grpc-web-text</c>, each with an optional <c>+format</c> suffix or parameters. The answer goes out
    /// as <paramref name="responseContentType"/>, the protocol's own content type.
    /// </summary>
    public static bool IsGrpc(HttpRequest request, out string responseContentType)
    {
        responseContentType = string.Empty;
        var contentType = request.ContentType;
        if (contentType is null || !contentType.StartsWith(GrpcContentType, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        foreach (var candidate in (ReadOnlySpan<string>)[GrpcWebTextContentType, GrpcWebContentType, GrpcContentType])
        {
            if (contentType.StartsWith(candidate, StringComparison.OrdinalIgnoreCase)
                && (contentType.Length == candidate.Length || contentType[candidate.Length] is '+' or ';' or ' '))
            {
                responseContentType = candidate;
                return true;
            }
        }

        return false;
    }

    /// <summary>Ends the call with <paramref name="statusCode"/> and <paramref name="message"/>, before anything was written.</summary>
    public static Task WriteAsync(HttpContext context, string responseContentType, int statusCode, string message)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = responseContentType;
        response.Headers["grpc-status"] = statusCode.ToString(CultureInfo.InvariantCulture);
        response.Headers["grpc-message"] = PercentEncode(message);
        return Task.CompletedTask;
    }

    /// <summary>
    /// The percent-encoding gRPC specifies for <c>grpc-message</c> (PROTOCOL-HTTP2.md): the UTF-8 bytes, each outside
    /// the visible ASCII range, and <c>%</c> itself, written as <c>%XX</c>.
    /// </summary>
    internal static string PercentEncode(string message)
    {
        var bytes = Encoding.UTF8.GetBytes(message);
        var builder = new StringBuilder(bytes.Length);
        foreach (var b in bytes)
        {
            if (b is >= 0x20 and <= 0x7E and not (byte)'%')
            {
                builder.Append((char)b);
            }
            else
            {
                builder.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }

        return builder.ToString();
    }
}
