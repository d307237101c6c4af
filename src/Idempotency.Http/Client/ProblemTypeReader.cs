using System.Net.Http.Headers;
using System.Text.Json;

namespace Idempotency;

/// <summary>Reads the <c>type</c> of an <c>application/problem+json</c> response without consuming its body.</summary>
internal static class ProblemTypeReader
{
    // The server's problem type URIs are its configured base URI (ending with '/' or '#') followed by these names:
    // https://api.example.com/problems/key-reused, or the default .../docs/errors.md#key-reused.
    public const string RequestInFlight = "request-in-flight";
    public const string KeyReused = "key-reused";

    public static async Task<bool> HasTypeAsync(HttpResponseMessage response, string name, CancellationToken cancellationToken)
    {
        if (response.Content.Headers.ContentType is not MediaTypeHeaderValue { MediaType: "application/problem+json" })
        {
            return false;
        }

        // Buffered and read as a copy: ReadAsStreamAsync would hand out the content's one cached stream, left at its
        // end, and a caller's ReadFromJsonAsync after this check would then find an empty body.
        await response.Content.LoadIntoBufferAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var problem = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false));
            return problem.RootElement.ValueKind == JsonValueKind.Object
                && problem.RootElement.TryGetProperty("type", out var type)
                && type.ValueKind == JsonValueKind.String
                && IsNamed(type.GetString()!, name);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static bool IsNamed(string type, string name) =>
        type.Length > name.Length
        && type.EndsWith(name, StringComparison.Ordinal)
        && type[type.Length - name.Length - 1] is '/' or '#';
}
