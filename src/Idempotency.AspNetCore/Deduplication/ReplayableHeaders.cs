using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Idempotency.AspNetCore.Deduplication;

/// <summary>The response headers a stored response keeps for its replays.</summary>
internal static class ReplayableHeaders
{
    // Never replayed: they describe this connection or this moment, not the outcome (RFC 9110 section 7.6.1).
    private static readonly HashSet<string> s_unreplayable = new(StringComparer.OrdinalIgnoreCase)
    {
        HeaderNames.SetCookie,
        HeaderNames.Date,
        HeaderNames.Server,
        HeaderNames.Connection,
        HeaderNames.KeepAlive,
        HeaderNames.ProxyAuthenticate,
        HeaderNames.ProxyAuthorization,
        "Proxy-Connection",
        HeaderNames.TE,
        HeaderNames.Trailer,
        HeaderNames.TransferEncoding,
        HeaderNames.Upgrade,
        IdempotencyDefaults.ReplayedHeaderName,
    };

    /// <summary>
    /// Copies the replayable headers, once, into the shape a <see cref="StoredResponse"/> holds. The values are kept as
    /// they are: a header's <see cref="StringValues"/> is replaced when the header is set again, never changed in place.
    /// </summary>
    public static List<KeyValuePair<string, StringValues>> Copy(IHeaderDictionary headers)
    {
        var copy = new List<KeyValuePair<string, StringValues>>(headers.Count);
        foreach (var header in headers)
        {
            if (!s_unreplayable.Contains(header.Key))
            {
                copy.Add(header);
            }
        }

        return copy;
    }
}
