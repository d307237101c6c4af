using System.Net.Http.Headers;
using System.Text.Json;

namespace Idempotency;

/// <summary>
/// Reads the <c>type</c> of an <c>application/problem+json</c> response from at most <see cref="MaxBodyLength"/> bytes of
/// its body, leaving the whole body to the caller.
/// </summary>
internal static class ProblemTypeReader
{
    // The server's problem type URIs are its configured base URI (ending with '/' or '#') followed by these names:
    // https://api.example.com/problems/key-reused, or the default .../docs/errors.md#key-reused.
    public const string RequestInFlight = "request-in-flight";
    public const string KeyReused = "key-reused";

    /// <summary>
    /// The largest problem body that is read to tell its type: the middleware's own problems are well under 1 KiB, so a
    /// longer body (declared by <c>Content-Length</c> or found by reading) is never one of them and is not read further.
    /// </summary>
    public const int MaxBodyLength = 16 * 1024;

    public static async Task<bool> HasTypeAsync(HttpResponseMessage response, string name, CancellationToken cancellationToken)
    {
        // Media types are case-insensitive (RFC 9110 section 8.3.1), and proxies do rewrite them.
        if (response.Content.Headers.ContentType is not MediaTypeHeaderValue { MediaType: { } mediaType }
            || !string.Equals(mediaType, "application/problem+json", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        if (await ReadBodyAsync(response, cancellationToken).ConfigureAwait(false) is not { } body)
        {
            return false;
        }

        try
        {
            using var problem = JsonDocument.Parse(body);
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

    // The whole body when it is at most MaxBodyLength bytes, else null; either way response.Content still gives the
    // caller the whole body from its first byte.
    private static async Task<ReadOnlyMemory<byte>?> ReadBodyAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var content = response.Content;
        if (content.Headers.ContentLength is { } length)
        {
            // A body declared longer is not read at all, so the response stays exactly as it came.
            if (length > MaxBodyLength)
            {
                return null;
            }

            // Buffered and read as a copy: ReadAsStreamAsync would hand out the content's one cached stream, left at its
            // end, and a caller's ReadFromJsonAsync after this check would then find an empty body. The limit holds even
            // if the content writes more than it declared. (A buffered content always has a length, so the caller's own
            // check after HttpClient buffered the body comes here.)
            await content.LoadIntoBufferAsync(MaxBodyLength, cancellationToken).ConfigureAwait(false);
            return await content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        }

        // No length (chunked, or decompressed): buffering could mean reading an endless body to its end, so read one byte
        // more than the limit and hand the caller a content that starts with what was read.
        var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        var prefix = new byte[MaxBodyLength + 1];
        var read = await stream.ReadAtLeastAsync(prefix, prefix.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        if (read <= MaxBodyLength)
        {
            var whole = new ByteArrayContent(prefix, 0, read);
            CopyHeaders(content, whole);
            response.Content = whole;
            content.Dispose();
            return prefix.AsMemory(0, read);
        }

        var rest = new PrefixedContent(prefix, stream, content);
        CopyHeaders(content, rest);
        response.Content = rest;
        return null;
    }

    private static void CopyHeaders(HttpContent from, HttpContent to)
    {
        foreach (var header in from.Headers)
        {
            to.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }
    }

    private static bool IsNamed(string type, string name) =>
        type.Length > name.Length
        && type.EndsWith(name, StringComparison.Ordinal)
        && type[type.Length - name.Length - 1] is '/' or '#';
}
