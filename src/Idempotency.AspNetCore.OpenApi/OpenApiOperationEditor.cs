using System.Globalization;
using System.Text.Json.Nodes;
using Idempotency.AspNetCore.Deduplication;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;

namespace Idempotency.AspNetCore.OpenApi;

/// <summary>Adds headers and problem responses to an operation without replacing what the application declared.</summary>
internal static class OpenApiOperationEditor
{
    public const string ProblemContentType = "application/problem+json";
    private const string ProblemDetailsSchemaId = "ProblemDetails";

    public static IdempotencyOptions Options(OpenApiOperationTransformerContext context) =>
        context.ApplicationServices.GetService<IOptions<IdempotencyOptions>>()?.Value ?? new IdempotencyOptions();

    /// <summary>A duration as a reader says it: <c>24 hours</c>, <c>30 seconds</c>; <c>d.hh:mm:ss</c> when it is no whole unit.</summary>
    public static string Duration(TimeSpan duration)
    {
        static string Unit(long count, string unit) => string.Create(CultureInfo.InvariantCulture, $"{count} {unit}{(count == 1 ? string.Empty : "s")}");
        return duration switch
        {
            { Ticks: >= 2 * TimeSpan.TicksPerDay } when duration.Ticks % TimeSpan.TicksPerDay == 0 => Unit(duration.Ticks / TimeSpan.TicksPerDay, "day"),
            { Ticks: > 0 } when duration.Ticks % TimeSpan.TicksPerHour == 0 => Unit(duration.Ticks / TimeSpan.TicksPerHour, "hour"),
            { Ticks: > 0 } when duration.Ticks % TimeSpan.TicksPerMinute == 0 => Unit(duration.Ticks / TimeSpan.TicksPerMinute, "minute"),
            { Ticks: > 0 } when duration.Ticks % TimeSpan.TicksPerSecond == 0 => Unit(duration.Ticks / TimeSpan.TicksPerSecond, "second"),
            _ => duration.ToString("c", CultureInfo.InvariantCulture),
        };
    }

    /// <summary>
    /// The metadata of the endpoint the middleware sees for this operation. For a controller action the description's
    /// <see cref="Microsoft.AspNetCore.Mvc.Abstractions.ActionDescriptor.EndpointMetadata"/> holds only the controller's
    /// and the action's attributes, not the conventions of <c>MapControllers()</c> (<c>.RequireIdempotency()</c>,
    /// <c>.RequirePrecondition()</c>); the endpoint built from it holds both, with the action descriptor. An endpoint
    /// of minimal APIs has no action descriptor of its own, and its description's metadata is already the endpoint's.
    /// </summary>
    public static EndpointMetadataCollection EndpointMetadata(OpenApiOperationTransformerContext context)
    {
        var action = context.Description.ActionDescriptor;
        if (context.ApplicationServices.GetService<EndpointDataSource>() is { } endpoints)
        {
            foreach (var endpoint in endpoints.Endpoints)
            {
                if (ReferenceEquals(endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.Mvc.Abstractions.ActionDescriptor>(), action))
                {
                    return endpoint.Metadata;
                }
            }
        }

        return new EndpointMetadataCollection(action.EndpointMetadata);
    }

    public static bool IsUnsafe(OpenApiOperationTransformerContext context) =>
        context.Description.HttpMethod is { } method
        && !HttpMethodSemantics.IsSafe(method);

    public static void AddHeaderParameter(OpenApiOperation operation, string name, bool required, string description, IOpenApiSchema schema, JsonNode? example = null)
    {
        operation.Parameters ??= [];
        if (operation.Parameters.Any(p => p.In == ParameterLocation.Header && string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase)))
        {
            return;
        }

        operation.Parameters.Add(new OpenApiParameter
        {
            Name = name,
            In = ParameterLocation.Header,
            Required = required,
            Description = description,
            Schema = schema,
            Example = example,
        });
    }

    /// <summary>
    /// Declares a problem response. When the application already declares that status (an insufficient-funds 409,
    /// say), its response stays and gains the description and the problem content type.
    /// </summary>
    public static void AddProblemResponse(OpenApiOperation operation, int status, string description, IOpenApiSchema problemSchema, IDictionary<string, IOpenApiHeader>? headers = null)
    {
        operation.Responses ??= [];
        var key = status.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (operation.Responses.TryGetValue(key, out var existing) && existing is OpenApiResponse response)
        {
            response.Description = string.IsNullOrEmpty(response.Description) ? description : response.Description + " " + description;
            response.Content ??= new Dictionary<string, OpenApiMediaType>();
            response.Content.TryAdd(ProblemContentType, new OpenApiMediaType { Schema = problemSchema });
            foreach (var (name, header) in headers ?? new Dictionary<string, IOpenApiHeader>())
            {
                response.Headers ??= new Dictionary<string, IOpenApiHeader>();
                response.Headers.TryAdd(name, header);
            }

            return;
        }

        operation.Responses[key] = new OpenApiResponse
        {
            Description = description,
            Content = new Dictionary<string, OpenApiMediaType> { [ProblemContentType] = new() { Schema = problemSchema } },
            Headers = headers,
        };
    }

    /// <summary>The RFC 9457 problem schema, as a shared component when the document is at hand.</summary>
    public static async Task<IOpenApiSchema> ProblemSchemaAsync(OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var schema = await context.GetOrCreateSchemaAsync(typeof(ProblemDetails), null, cancellationToken);
        if (context.Document is not { } document)
        {
            return schema;
        }

        document.Components ??= new OpenApiComponents();
        document.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>();
        document.Components.Schemas.TryAdd(ProblemDetailsSchemaId, schema);
        return new OpenApiSchemaReference(ProblemDetailsSchemaId, document);
    }

    public static OpenApiSchema StringSchema(int? maxLength = null) => new() { Type = JsonSchemaType.String, MinLength = maxLength is null ? null : 1, MaxLength = maxLength };

    public static OpenApiHeader Header(string description, OpenApiSchema schema) => new() { Description = description, Schema = schema };
}
