using Idempotency.AspNetCore.Preconditions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.Net.Http.Headers;
using Microsoft.OpenApi;

namespace Idempotency.AspNetCore.OpenApi;

/// <summary>Declares <c>If-Match</c>, <c>If-None-Match</c> and the precondition problem responses on conditional operations.</summary>
internal sealed class PreconditionOperationTransformer : IOpenApiOperationTransformer
{
    public async Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        // As UsePreconditions(): unsafe methods except CONNECT, which ignores preconditions (RFC 9110 section 13.2.1).
        // The endpoint's metadata, as the middleware reads it: a MapControllers().RequirePrecondition() convention counts.
        if (OpenApiOperationEditor.EndpointMetadata(context).GetMetadata<IPreconditionMetadata>() is null
            || !OpenApiOperationEditor.IsUnsafe(context)
            || HttpMethods.IsConnect(context.Description.HttpMethod!))
        {
            return;
        }

        var types = OpenApiOperationEditor.Options(context).ProblemTypeBaseUri;
        OpenApiOperationEditor.AddHeaderParameter(
            operation,
            HeaderNames.IfMatch,
            required: false,
            "The ETag of the resource exactly as a GET returned it, such as \"563\" (the quotes are part of the tag): the request is applied only " +
            "while that is still the current version. This endpoint requires If-Match or If-None-Match; without either it answers 428.",
            OpenApiOperationEditor.StringSchema());
        OpenApiOperationEditor.AddHeaderParameter(
            operation,
            HeaderNames.IfNoneMatch,
            required: false,
            "'*' to create the resource only if it does not exist yet. This endpoint requires If-Match or If-None-Match; without either it answers 428.",
            OpenApiOperationEditor.StringSchema());

        var problem = await OpenApiOperationEditor.ProblemSchemaAsync(context, cancellationToken);
        OpenApiOperationEditor.AddProblemResponse(
            operation,
            400,
            $"The If-Match or If-None-Match header is not a valid list of entity tags ({types}{PreconditionProblemTypes.PreconditionMalformed}). The request was not applied.",
            problem);
        OpenApiOperationEditor.AddProblemResponse(
            operation,
            412,
            $"The precondition is false: the resource changed since it was read, or this request was already applied ({types}{PreconditionProblemTypes.PreconditionFailed}). " +
            "The ETag header holds the current tag: read the resource again before deciding whether to resubmit.",
            problem,
            new Dictionary<string, IOpenApiHeader>
            {
                [HeaderNames.ETag] = OpenApiOperationEditor.Header("The resource's current entity tag.", OpenApiOperationEditor.StringSchema()),
            });
        OpenApiOperationEditor.AddProblemResponse(
            operation,
            428,
            $"The request carried neither If-Match nor If-None-Match ({types}{PreconditionProblemTypes.PreconditionRequired}). " +
            "Read the resource and resubmit with If-Match set to its ETag.",
            problem);
    }
}
