using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using HttpJsonOptions = Microsoft.AspNetCore.Http.Json.JsonOptions;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Idempotency.AspNetCore;

/// <summary>
/// Writes every problem response of the library: through the application's <see cref="IProblemDetailsService"/> when
/// it has one (so its customisations apply), else as plain <c>application/problem+json</c>.
/// </summary>
internal static class ProblemResponse
{
    private const string ContentType = "application/problem+json";

    public static async Task WriteAsync(HttpContext context, ProblemDetails problem)
    {
        var status = problem.Status ?? StatusCodes.Status500InternalServerError;
        context.Response.StatusCode = status;
        var service = context.RequestServices.GetService<IProblemDetailsService>();
        if (service is not null && await service.TryWriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem }))
        {
            return;
        }

        // Results.Problem serializes with the application's JSON options. Under Native AOT (or with reflection off)
        // those know only the application's own types, and ProblemDetails only after AddProblemDetails(), which also
        // registers the service above: without this metadata of the library's own every problem would be a 500.
        var options = context.RequestServices.GetService<IOptions<HttpJsonOptions>>()?.Value.SerializerOptions;
        if (options is not null && options.TryGetTypeInfo(typeof(ProblemDetails), out _))
        {
            await Results.Problem(problem).ExecuteAsync(context);
            return;
        }

        await Results.Json(problem, ProblemResponseJsonContext.Default.ProblemDetails, ContentType, status).ExecuteAsync(context);
    }
}

/// <summary>Serialization metadata for the library's problems: <see cref="ProblemDetails"/> and its extension values.</summary>
[JsonSerializable(typeof(ProblemDetails))]
[JsonSerializable(typeof(int))]
[JsonSerializable(typeof(string))]
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
internal sealed partial class ProblemResponseJsonContext : JsonSerializerContext;
