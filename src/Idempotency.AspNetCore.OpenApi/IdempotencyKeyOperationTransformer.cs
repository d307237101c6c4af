using Idempotency.AspNetCore.Deduplication;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Idempotency.AspNetCore.OpenApi;

/// <summary>Declares the <c>Idempotency-Key</c> header and the middleware's problem responses on opted-in operations.</summary>
internal sealed class IdempotencyKeyOperationTransformer : IOpenApiOperationTransformer
{
    private const string ExampleKey = "\"8e03978e-40d5-43e8-bc93-6894a57f9324\"";

    public async Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        // The declaration the middleware obeys, from the same metadata by the same rule (IdempotencyDeclarations, linked):
        // .DisableIdempotency() on an endpoint overrides its group; a controller action's or controller's attribute
        // overrides MapControllers()'s convention, and without one that convention applies.
        var metadata = IdempotencyDeclarations.Nearest(OpenApiOperationEditor.EndpointMetadata(context));
        if (metadata is null || metadata.Requirement == IdempotencyRequirement.Disabled || !OpenApiOperationEditor.IsUnsafe(context))
        {
            return;
        }

        var options = OpenApiOperationEditor.Options(context);

        // The endpoint's named policy over the global options, as the middleware resolves them.
        var policy = metadata.PolicyName is { } policyName && options.Policies.TryGetValue(policyName, out var named) ? named : null;
        var retention = policy?.ResponseRetention ?? options.ResponseRetention;
        var waits = (policy?.InFlightDuplicates ?? options.InFlightDuplicates) == InFlightDuplicateHandling.Wait;
        var excluded = policy?.FingerprintExcludedJsonMembers.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray() ?? [];
        var required = metadata.Requirement == IdempotencyRequirement.Required;
        var runsUnprotected = !required && options.AllowUnprotectedExecutionWhenStoreUnavailable;
        var header = options.HeaderName;
        var types = options.ProblemTypeBaseUri;

        OpenApiOperationEditor.AddHeaderParameter(
            operation,
            header,
            required,
            $"A unique key for this operation, such as a UUID, sent as a quoted string ({ExampleKey}); the bare form is accepted too. " +
            "Send the same key on every retry of the operation: the first request runs, and every retry receives its original response " +
            $"with '{IdempotencyProtocol.ReplayedHeaderName}: true', for {OpenApiOperationEditor.Duration(retention)} after it completed (a retry after that runs again). " +
            "A new operation needs a new key. " +
            (required ? "Required." : "Optional: a request without a key runs unprotected."),
            OpenApiOperationEditor.StringSchema(options.MaxKeyLength),
            System.Text.Json.Nodes.JsonValue.Create(ExampleKey));

        var problem = await OpenApiOperationEditor.ProblemSchemaAsync(context, cancellationToken);
        OpenApiOperationEditor.AddProblemResponse(
            operation,
            400,
            (required ? $"The '{header}' header is missing ({types}{IdempotencyProblemTypes.KeyMissing}), " : $"The '{header}' header is ") +
            $"malformed ({types}{IdempotencyProblemTypes.KeyMalformed}), too long ({types}{IdempotencyProblemTypes.KeyTooLong}) " +
            $"or sent twice ({types}{IdempotencyProblemTypes.KeyRepeated}). The request was not run.",
            problem);
        OpenApiOperationEditor.AddProblemResponse(
            operation,
            409,
            $"The original request with this '{header}' is still running ({types}{IdempotencyProblemTypes.RequestInFlight})" +
            (waits ? $", after this request waited {OpenApiOperationEditor.Duration(policy?.InFlightWaitTimeout ?? options.InFlightWaitTimeout)} for it. " : ". ") +
            "Retry with the same key after Retry-After to receive its result.",
            problem,
            new Dictionary<string, IOpenApiHeader>
            {
                ["Retry-After"] = OpenApiOperationEditor.Header("Seconds to wait before retrying with the same key.", new OpenApiSchema { Type = JsonSchemaType.Integer }),
            });
        OpenApiOperationEditor.AddProblemResponse(
            operation,
            410,
            $"The request with this '{header}' was already processed, but its response was too large to store for replay ({types}{IdempotencyProblemTypes.ResponseTooLarge}); " +
            "the originalStatus member holds its status. It is never run again with this key: fetch the resulting resource instead of resending it with a new key.",
            problem);
        OpenApiOperationEditor.AddProblemResponse(
            operation,
            422,
            $"This '{header}' was already used for a different request: another body, path, endpoint, precondition or content type ({types}{IdempotencyProblemTypes.KeyReused}). " +
            (excluded.Length == 0 ? string.Empty : $"The JSON body's members {string.Join(", ", excluded.Select(static m => $"'{m}'"))} are not compared: a retry may change them. ") +
            "A client bug: never retry it; use a new key for a new operation.",
            problem);
        OpenApiOperationEditor.AddProblemResponse(
            operation,
            429,
            $"This caller has as many requests in progress as the service keeps idempotency records for one caller ({types}{IdempotencyProblemTypes.ScopeQuotaExceeded}). " +
            "The request was not run; retry with the same key after Retry-After.",
            problem,
            new Dictionary<string, IOpenApiHeader>
            {
                ["Retry-After"] = OpenApiOperationEditor.Header("Seconds to wait before retrying with the same key.", new OpenApiSchema { Type = JsonSchemaType.Integer }),
            });
        OpenApiOperationEditor.AddProblemResponse(
            operation,
            500,
            $"The original request with this '{header}' failed after its response had started, or after it had committed part of its work, so its effect may have been applied ({types}{IdempotencyProblemTypes.OutcomeUnknown}). " +
            "It is never run again with this key: check the resource, then repeat the operation with a new key if it did not apply.",
            problem);

        OpenApiOperationEditor.AddProblemResponse(
            operation,
            503,
            (runsUnprotected
                ? "While the idempotency store is unavailable a request with a key runs unprotected (a retry may run it again); this answer comes only when " +
                  $"the stored result of this key cannot be read ({types}{IdempotencyProblemTypes.StoreUnavailable}). "
                : "The service cannot check or record idempotency keys right now " +
                  $"({types}{IdempotencyProblemTypes.StoreUnavailable}, or {types}{IdempotencyProblemTypes.StoreFull} when the store holds as many keys as it may). ") +
            "The request was not run: retry with the same key after Retry-After.",
            problem,
            new Dictionary<string, IOpenApiHeader>
            {
                ["Retry-After"] = OpenApiOperationEditor.Header("Seconds to wait before retrying with the same key.", new OpenApiSchema { Type = JsonSchemaType.Integer }),
            });

        foreach (var (status, response) in operation.Responses ?? [])
        {
            if (status.StartsWith('2') && response is OpenApiResponse success)
            {
                success.Headers ??= new Dictionary<string, IOpenApiHeader>();
                success.Headers.TryAdd(
                    IdempotencyProtocol.ReplayedHeaderName,
                    OpenApiOperationEditor.Header(
                        "'true' when this is the stored response of an earlier request with the same key, replayed byte for byte; absent otherwise.",
                        OpenApiOperationEditor.StringSchema()));
            }
        }
    }
}
