using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
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

        if (value is null)
        {
            return Task.CompletedTask;
        }

        // The application's JSON options, as Results.Json uses; asking them for the type's metadata instead of letting
        // the serializer reflect keeps this path trimming- and AOT-safe (a Native AOT app lists the type in its context).
        var options = httpContext.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
        return Results.Json(value, options.GetTypeInfo(value.GetType()), statusCode: status).ExecuteAsync(httpContext);
    }
}
