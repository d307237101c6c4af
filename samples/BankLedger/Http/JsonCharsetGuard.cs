using BankLedger.Endpoints;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace BankLedger.Http;

/// <summary>
/// Request bodies are JSON in UTF-8 (RFC 8259 section 8.1). ASP.NET Core's JSON binding throws, and the request ends in
/// a 500, for a charset it cannot resolve (<c>charset=bogus</c>, an empty <c>charset=</c>) and for a quoted one
/// (<c>charset="utf-8"</c>, which HTTP allows). On endpoints that read a body, this answers any charset other than
/// UTF-8 with a 415 problem, and unquotes a quoted UTF-8 one, before the endpoint (or the idempotency middleware) runs.
/// </summary>
public static class JsonCharsetGuard
{
    private const string Utf8 = "utf-8";

    public static IApplicationBuilder UseJsonCharsetGuard(this IApplicationBuilder app) =>
        app.Use((context, next) =>
        {
            var request = context.Request;
            if (context.GetEndpoint()?.Metadata.GetMetadata<IAcceptsMetadata>() is null
                || !MediaTypeHeaderValue.TryParse(request.ContentType, out var mediaType)
                || !mediaType.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase) && !mediaType.Suffix.Equals("json", StringComparison.OrdinalIgnoreCase)
                || mediaType.Parameters.FirstOrDefault(p => p.Name.Equals("charset", StringComparison.OrdinalIgnoreCase)) is not { } charsetParameter)
            {
                return next(context); // no body to read, not JSON (the endpoint answers 415 itself), or no charset: UTF-8
            }

            var charset = HeaderUtilities.RemoveQuotes(charsetParameter.Value);
            if (!charset.Equals(Utf8, StringComparison.OrdinalIgnoreCase))
            {
                return Results.Problem(
                    statusCode: StatusCodes.Status415UnsupportedMediaType,
                    type: LedgerEndpoints.ProblemTypeBase + "unsupported-charset",
                    title: "Unsupported charset",
                    detail: "Send JSON in UTF-8: Content-Type: application/json, or application/json; charset=utf-8.").ExecuteAsync(context);
            }

            if (charset != charsetParameter.Value)
            {
                charsetParameter.Value = new StringSegment(Utf8);
                request.ContentType = mediaType.ToString();
            }

            return next(context);
        });
}
