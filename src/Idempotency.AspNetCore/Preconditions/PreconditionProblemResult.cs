using Idempotency.AspNetCore.Deduplication;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Idempotency.AspNetCore.Preconditions;

/// <summary>
/// Writes a precondition problem as <c>application/problem+json</c> through <see cref="IProblemDetailsService"/> when
/// the app has one, with the type under <see cref="IdempotencyOptions.ProblemTypeBaseUri"/>.
/// </summary>
internal sealed class PreconditionProblemResult(PreconditionProblem problem, EntityTag? currentETag) : IResult, IStatusCodeHttpResult
{
    public int? StatusCode => problem.Status;

    public Task ExecuteAsync(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        return WriteAsync(httpContext, problem, currentETag);
    }

    public static Task WriteAsync(HttpContext context, PreconditionProblem problem, EntityTag? currentETag)
    {
        var baseUri = context.RequestServices.GetService<IOptions<IdempotencyOptions>>()?.Value.ProblemTypeBaseUri
            ?? IdempotencyProblemTypes.DefaultBaseUri;
        var details = new ProblemDetails
        {
            Status = problem.Status,
            Type = IdempotencyProblemTypes.Uri(baseUri, problem.Type),
            Title = problem.Title,
            Detail = problem.Detail,
            Instance = context.Request.Path,
        };

        if (currentETag is not null)
        {
            context.Response.Headers[HeaderNames.ETag] = currentETag.ToString();
        }

        return ProblemResponse.WriteAsync(context, details);
    }
}
