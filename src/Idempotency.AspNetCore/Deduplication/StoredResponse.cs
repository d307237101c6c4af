using Microsoft.Extensions.Primitives;

namespace Idempotency.AspNetCore.Deduplication;

/// <summary>
/// An HTTP response as stored for replay: status, the headers worth replaying, and the exact body bytes.
/// </summary>
internal sealed class StoredResponse
{
    /// <summary>Initializes a stored response.</summary>
    /// <param name="statusCode">The HTTP status code.</param>
    /// <param name="headers">The headers to replay, in order; names as sent.</param>
    /// <param name="body">The exact body bytes.</param>
    /// <param name="bodyOmitted">
    /// <see langword="true"/> when the body was larger than the storable maximum and was not kept, in which case
    /// <paramref name="body"/> is empty and the response cannot be replayed.
    /// </param>
    public StoredResponse(int statusCode, IReadOnlyList<KeyValuePair<string, StringValues>> headers, ReadOnlyMemory<byte> body, bool bodyOmitted = false)
    {
        ArgumentNullException.ThrowIfNull(headers);
        ArgumentOutOfRangeException.ThrowIfLessThan(statusCode, 100);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(statusCode, 999);
        StatusCode = statusCode;
        Headers = headers;
        Body = body;
        BodyOmitted = bodyOmitted;
    }

    /// <summary>Gets the HTTP status code.</summary>
    public int StatusCode { get; }

    /// <summary>Gets the headers to replay.</summary>
    public IReadOnlyList<KeyValuePair<string, StringValues>> Headers { get; }

    /// <summary>Gets the exact body bytes.</summary>
    public ReadOnlyMemory<byte> Body { get; }

    /// <summary>Gets whether the body exceeded the storable maximum and was dropped.</summary>
    public bool BodyOmitted { get; }
}
