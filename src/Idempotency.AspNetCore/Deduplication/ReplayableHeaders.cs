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
    /// Copies the replayable headers, once, into the shape a <see cref="StoredResponse"/> holds: as the client gets them,
    /// whatever the application does to its own values afterwards.
    /// </summary>
    public static List<KeyValuePair<string, StringValues>> Copy(IHeaderDictionary headers)
    {
        var copy = new List<KeyValuePair<string, StringValues>>(headers.Count);
        foreach (var (name, values) in headers)
        {
            if (!s_unreplayable.Contains(name))
            {
                copy.Add(new(name, AsSent(values)));
            }
        }

        return copy;
    }

    // A single string cannot change, so it is kept as it is (the common case, no allocation); an array is the
    // application's own and may be changed in place after the headers went out, so it is copied. Null values are left
    // out: Kestrel writes no line for them.
    private static StringValues AsSent(StringValues values)
    {
        var count = values.Count;
        if (count == 1)
        {
            return values[0] is { } single ? new StringValues(single) : StringValues.Empty;
        }

        var sent = 0;
        for (var i = 0; i < count; i++)
        {
            sent += values[i] is null ? 0 : 1;
        }

        if (sent == 0)
        {
            return StringValues.Empty;
        }

        var array = new string[sent];
        for (int i = 0, j = 0; i < count; i++)
        {
            if (values[i] is { } value)
            {
                array[j++] = value;
            }
        }

        return sent == 1 ? new StringValues(array[0]) : new StringValues(array);
    }
}
