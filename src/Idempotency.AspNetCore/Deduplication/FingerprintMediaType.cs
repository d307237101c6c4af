namespace Idempotency.AspNetCore.Deduplication;

/// <summary>
/// The part of a <c>Content-Type</c> that the request fingerprint covers: the media type (type/subtype, compared
/// case-insensitively) and the charset, where <c>utf-8</c> is the same as no charset. Other parameters are left out.
/// </summary>
/// <remarks>
/// <c>application/json</c> and <c>application/json; charset=utf-8</c> are the same request: JSON is UTF-8 whatever the
/// header says (RFC 8259 defines no charset), and ASP.NET Core reads a text body without a charset as UTF-8. Another
/// charset makes the same bytes another text, so it counts. Other parameters describe the bytes (a multipart
/// boundary is in the body already) or are added and dropped by client libraries; a service whose media-type
/// parameters change what a request means can add <c>Content-Type</c> to <c>IdempotencyOptions.FingerprintHeaders</c>,
/// which then covers the whole value as sent.
/// </remarks>
internal static class FingerprintMediaType
{
    private const string CharsetSeparator = ";charset=";

    /// <summary>Writes the normalised form of <paramref name="contentType"/>, which is never longer than it.</summary>
    /// <param name="contentType">The header's value.</param>
    /// <param name="destination">At least as long as <paramref name="contentType"/>.</param>
    /// <returns>The number of characters written.</returns>
    public static int Normalize(ReadOnlySpan<char> contentType, Span<char> destination)
    {
        var value = contentType.Trim(" \t");
        var semicolon = value.IndexOf(';');
        var mediaType = (semicolon < 0 ? value : value[..semicolon]).Trim(" \t");
        var written = mediaType.ToLowerInvariant(destination);
        if (semicolon < 0 || !TryFindCharset(value[(semicolon + 1)..], out var charset) || charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase))
        {
            return written;
        }

        // The input held ";" + "charset=" + the charset at least, so this fits in a destination as long as the input.
        CharsetSeparator.CopyTo(destination[written..]);
        written += CharsetSeparator.Length;
        return written + charset.ToLowerInvariant(destination[written..]);
    }

    /// <summary>Whether <paramref name="contentType"/> is a JSON media type: <c>application/json</c> or a <c>+json</c> suffix.</summary>
    public static bool IsJson(string? contentType)
    {
        var value = contentType.AsSpan();
        var semicolon = value.IndexOf(';');
        var mediaType = (semicolon < 0 ? value : value[..semicolon]).Trim(" \t");
        return mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || (mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase) && mediaType.IndexOf('/') > 0);
    }

    // The first charset parameter's value, unquoted. Quoted values of other parameters may hold ';' and '='.
    private static bool TryFindCharset(ReadOnlySpan<char> parameters, out ReadOnlySpan<char> charset)
    {
        var i = 0;
        while (i < parameters.Length)
        {
            var nameStart = i;
            while (i < parameters.Length && parameters[i] is not ('=' or ';'))
            {
                i++;
            }

            var name = parameters[nameStart..i].Trim(" \t");
            var hasValue = i < parameters.Length && parameters[i] == '=';
            var value = ReadOnlySpan<char>.Empty;
            if (hasValue)
            {
                var valueStart = ++i;
                while (i < parameters.Length && parameters[i] is ' ' or '\t')
                {
                    i++;
                }

                if (i < parameters.Length && parameters[i] == '"')
                {
                    var quotedStart = ++i;
                    while (i < parameters.Length && parameters[i] != '"')
                    {
                        i += parameters[i] == '\\' ? 2 : 1;
                    }

                    value = parameters[quotedStart..Math.Min(i, parameters.Length)];
                    while (i < parameters.Length && parameters[i] != ';')
                    {
                        i++;
                    }
                }
                else
                {
                    while (i < parameters.Length && parameters[i] != ';')
                    {
                        i++;
                    }

                    value = parameters[valueStart..i].Trim(" \t");
                }
            }

            // A charset without "=" is no charset (and would not fit: the output's ";charset=" is one longer).
            if (hasValue && name.Equals("charset", StringComparison.OrdinalIgnoreCase))
            {
                charset = value;
                return true;
            }

            i++; // past the ';'
        }

        charset = default;
        return false;
    }
}
