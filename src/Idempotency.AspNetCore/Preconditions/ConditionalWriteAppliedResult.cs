using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Idempotency.AspNetCore.Preconditions;

/// <summary>The success of a conditional write: 201 with <c>Location</c>, or 200, carrying the new version as <c>ETag</c>.</summary>
internal sealed class ConditionalWriteAppliedResult(EntityTag newETag, string? location, object? value) : IResult, IStatusCodeHttpResult
{
    public int? StatusCode => location is null ? StatusCodes.Status200OK : StatusCodes.Status201Created;

    public Task ExecuteAsync(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        var response = httpContext.Response;
        var status = StatusCode!.Value;
        response.StatusCode = status;
        response.Headers[HeaderNames.ETag] = newETag.ToString();
        if (location is not null)
        {
            response.Headers[HeaderNames.Location] = location;
        }

        return value is null ? Task.CompletedTask : Results.Json(value, statusCode: status).ExecuteAsync(httpContext);
    }
}
