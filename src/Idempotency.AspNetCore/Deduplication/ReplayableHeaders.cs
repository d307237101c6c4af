using Microsoft.AspNetCore.Http;
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

    /// <summary>Copies the replayable headers, once, into the shape a <see cref="StoredResponse"/> holds.</summary>
    public static List<KeyValuePair<string, string[]>> Copy(IHeaderDictionary headers)
    {
        var copy = new List<KeyValuePair<string, string[]>>(headers.Count);
        foreach (var (name, values) in headers)
        {
            if (!s_unreplayable.Contains(name))
            {
                copy.Add(new(name, values.ToArray()!));
            }
        }

        return copy;
    }
}
