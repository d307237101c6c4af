using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Idempotency.AspNetCore.Deduplication;

/// <summary>Writes the middleware's <c>application/problem+json</c> responses through <see cref="IProblemDetailsService"/> when the app has one.</summary>
internal sealed class IdempotencyProblemWriter(IOptions<IdempotencyOptions> options)
{
    private readonly string _baseUri = options.Value.ProblemTypeBaseUri;

    public Task KeyMissingAsync(HttpContext context, string headerName) => WriteAsync(
        context, StatusCodes.Status400BadRequest, IdempotencyProblemTypes.KeyMissing, "Idempotency key missing",
        $"This endpoint requires an '{headerName}' header. Generate a unique key (a UUID) for this operation, send it in the header, and send the same key again on every retry of it.");

    public Task KeyRepeatedAsync(HttpContext context, string headerName) => WriteAsync(
        context, StatusCodes.Status400BadRequest, IdempotencyProblemTypes.KeyRepeated, "Idempotency key repeated",
        $"The '{headerName}' header was sent more than once. Send exactly one key per request.");

    public Task KeyInvalidAsync(HttpContext context, string headerName, IdempotencyKeyParseStatus status, int maxLength) => status switch
    {
        IdempotencyKeyParseStatus.TooLong => WriteAsync(
            context, StatusCodes.Status400BadRequest, IdempotencyProblemTypes.KeyTooLong, "Idempotency key too long",
            $"The '{headerName}' value is longer than {maxLength} characters. Use a shorter key, such as a UUID."),
        _ => WriteAsync(
            context, StatusCodes.Status400BadRequest, IdempotencyProblemTypes.KeyMalformed, "Idempotency key malformed",
            $"The '{headerName}' value is not a valid key: {Describe(status)} A key is 1 to {maxLength} visible ASCII characters, sent as a quoted string such as \"8e03978e-40d5-43e8-bc93-6894a57f9324\"."),
    };

    public Task KeyReusedAsync(HttpContext context, string headerName) => WriteAsync(
        context, StatusCodes.Status422UnprocessableEntity, IdempotencyProblemTypes.KeyReused, "Idempotency key reused",
        $"This '{headerName}' was already used for a different request (another body, path, endpoint, precondition or content type). Use a new key for a new operation; retries must repeat the original request exactly.");

    public Task RequestInFlightAsync(HttpContext context, TimeSpan retryAfter)
    {
        context.Response.Headers[HeaderNames.RetryAfter] = RetryAfterSeconds(retryAfter);
        return WriteAsync(
            context, StatusCodes.Status409Conflict, IdempotencyProblemTypes.RequestInFlight, "Request in progress",
            "The original request with this idempotency key is still being processed. Retry with the same key after the Retry-After interval to receive its result.");
    }

    public Task ResponseTooLargeAsync(HttpContext context, int originalStatusCode) => WriteAsync(
        context, StatusCodes.Status410Gone, IdempotencyProblemTypes.ResponseTooLarge, "Response too large to replay",
        $"The request with this idempotency key has already been processed (status {originalStatusCode}), but its response was too large to store for replay. Do not resend it with a new key; fetch the resulting resource instead.",
        new Dictionary<string, object?> { ["originalStatus"] = originalStatusCode });

    public Task StoreUnavailableAsync(HttpContext context, bool storeFull)
    {
        context.Response.Headers[HeaderNames.RetryAfter] = "1";
        return storeFull
            ? WriteAsync(
                context, StatusCodes.Status503ServiceUnavailable, IdempotencyProblemTypes.StoreFull, "Idempotency store full",
                "The service cannot record new idempotency keys right now, so the request was not processed. Retry later with the same key.")
            : WriteAsync(
                context, StatusCodes.Status503ServiceUnavailable, IdempotencyProblemTypes.StoreUnavailable, "Idempotency store unavailable",
                "The service cannot check idempotency keys right now, so the request was not processed. Retry later with the same key.");
    }

    public Task OutcomeUnknownAsync(HttpContext context, int startedStatusCode) => WriteAsync(
        context, StatusCodes.Status500InternalServerError, IdempotencyProblemTypes.OutcomeUnknown, "Outcome unknown",
        $"The original request with this idempotency key failed after its response had started, or after it had committed part of its work (status {startedStatusCode}), so its effect may have been applied. It will not be run again with this key. Check the state of the resource before you repeat the operation with a new key.",
        new Dictionary<string, object?> { ["originalStatus"] = startedStatusCode });

    public Task ResponseTooLargeToCommitAsync(HttpContext context, int maxStoredBodySize) => WriteAsync(
        context, StatusCodes.Status500InternalServerError, IdempotencyProblemTypes.ResponseTooLargeToCommit, "Response too large to commit",
        $"The response to this request was larger than the {maxStoredBodySize} bytes this service can hold until its transaction commits, so the transaction was rolled back and nothing was applied. Repeating the request will fail the same way; ask for a smaller response.");

    public Task ScopeQuotaExceededAsync(HttpContext context, TimeSpan retryAfter)
    {
        context.Response.Headers[HeaderNames.RetryAfter] = RetryAfterSeconds(retryAfter);
        return WriteAsync(
            context, StatusCodes.Status429TooManyRequests, IdempotencyProblemTypes.ScopeQuotaExceeded, "Too many requests in progress",
            "You have as many requests in progress as this service keeps idempotency records for one caller, so this one was not processed. Retry with the same key after the Retry-After interval.");
    }

    public Task ScopeUnresolvedAsync(HttpContext context) => WriteAsync(
        context, StatusCodes.Status500InternalServerError, IdempotencyProblemTypes.ScopeUnresolved, "Idempotency scope unavailable",
        "The service cannot tell whose idempotency key this is, so the request was not processed. This is a configuration error of the service, not of the request; its log (event 20) says what to change.");

    public Task PipelineMisorderedAsync(HttpContext context) => WriteAsync(
        context, StatusCodes.Status500InternalServerError, IdempotencyProblemTypes.PipelineMisordered, "Idempotency middleware misplaced",
        "The service checks idempotency keys before it authorizes requests, so the request was not processed. This is a configuration error of the service, not of the request; its log (event 19) says what to change.");

    private static string Describe(IdempotencyKeyParseStatus status) => status switch
    {
        IdempotencyKeyParseStatus.Empty => "it is empty.",
        IdempotencyKeyParseStatus.InvalidCharacter => "it contains a space, a control character or a non-ASCII character.",
        IdempotencyKeyParseStatus.NotQuoted => "this service accepts only the quoted form.",
        _ => "it is neither a quoted string nor a bare key.",
    };

    private static string RetryAfterSeconds(TimeSpan retryAfter) =>
        Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);

    internal async Task WriteAsync(HttpContext context, int status, string type, string title, string detail, IDictionary<string, object?>? extensions = null)
    {
        var problem = new ProblemDetails
        {
            Status = status,
            Type = IdempotencyProblemTypes.Uri(_baseUri, type),
            Title = title,
            Detail = detail,
            Instance = context.Request.Path,
        };
        if (extensions is not null)
        {
            foreach (var (name, value) in extensions)
            {
                problem.Extensions[name] = value;
            }
        }

        await ProblemResponse.WriteAsync(context, problem);
    }
}
