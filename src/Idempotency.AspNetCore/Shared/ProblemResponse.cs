using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;

namespace Idempotency.AspNetCore;

/// <summary>
/// Writes every problem response of the library: through the application's <see cref="IProblemDetailsService"/> when
/// it has one (so its customisations apply), else as plain <c>application/problem+json</c>.
/// </summary>
internal static class ProblemResponse
{
    public static async Task WriteAsync(HttpContext context, ProblemDetails problem)
    {
        context.Response.StatusCode = problem.Status ?? StatusCodes.Status500InternalServerError;
        var service = context.RequestServices.GetService<IProblemDetailsService>();
        if (service is not null && await service.TryWriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem }))
        {
            return;
        }

        await Results.Problem(problem).ExecuteAsync(context);
    }
}
