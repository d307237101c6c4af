using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Idempotency.AspNetCore.Preconditions;

/// <summary>
/// 304 Not Modified without a body. It carries the <c>ETag</c> a 200 would have (RFC 9110 section 15.4.5), and
/// <c>Last-Modified</c> only when there is no entity tag to guide the cache.
/// </summary>
internal sealed class NotModifiedResult(EntityTag? currentETag, DateTimeOffset? lastModified) : IResult, IStatusCodeHttpResult
{
    public int? StatusCode => StatusCodes.Status304NotModified;

    public Task ExecuteAsync(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        var response = httpContext.Response;
        response.StatusCode = StatusCodes.Status304NotModified;
        if (currentETag is not null)
        {
            response.Headers[HeaderNames.ETag] = currentETag.ToString();
        }
        else if (lastModified is { } date)
        {
            response.Headers[HeaderNames.LastModified] = date.ToUniversalTime().ToString("r", CultureInfo.InvariantCulture);
        }

        return Task.CompletedTask;
    }
}
