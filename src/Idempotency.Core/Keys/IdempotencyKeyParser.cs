namespace Idempotency;

/// <summary>
/// Parses an <c>Idempotency-Key</c> field value: a Structured Field String (RFC 9651 section 3.3.3), optionally
/// followed by parameters that are ignored, or, outside strict mode, a bare key as many clients send it.
/// <c>"abc"</c> and <c>abc</c> name the same key. A key is 1 to <c>maxLength</c> visible ASCII characters.
/// </summary>
public static class IdempotencyKeyParser
{
    /// <summary>Parses <paramref name="value"/> without allocating unless the key is valid.</summary>
    /// <param name="value">The field value as received.</param>
    /// <param name="strict"><see langword="true"/> to accept only the quoted Structured Field form.</param>
    /// <param name="maxLength">The longest key accepted, in characters.</param>
    /// <param name="key">The key, when the result is <see cref="IdempotencyKeyParseStatus.Valid"/>.</param>
    /// <returns>Whether the key is valid, and if not, why.</returns>
    public static IdempotencyKeyParseStatus TryParse(ReadOnlySpan<char> value, bool strict, int maxLength, out string? key)
    {
        key = null;
        value = TrimOptionalWhitespace(value);
        if (value.IsEmpty)
        {
            return IdempotencyKeyParseStatus.Empty;
        }

        return value[0] == '"'
            ? ParseQuoted(value, maxLength, out key)
            : strict ? IdempotencyKeyParseStatus.NotQuoted : ParseBare(value, maxLength, out key);
    }

    private static IdempotencyKeyParseStatus ParseBare(ReadOnlySpan<char> value, int maxLength, out string? key)
    {
        key = null;
        foreach (var c in value)
        {
            if (!IsVisibleAscii(c))
            {
                return IdempotencyKeyParseStatus.InvalidCharacter;
            }

            // These would make the value ambiguous with Structured Field syntax (a list, parameters, a string).
            if (c is '"' or '\\' or ',' or ';')
            {
                return IdempotencyKeyParseStatus.Malformed;
            }
        }

        if (value.Length > maxLength)
        {
            return IdempotencyKeyParseStatus.TooLong;
        }

        key = value.ToString();
        return IdempotencyKeyParseStatus.Valid;
    }

    private static IdempotencyKeyParseStatus ParseQuoted(ReadOnlySpan<char> value, int maxLength, out string? key)
    {
        key = null;
        var keyLength = 0;
        var hasEscapes = false;
        var i = 1;
        for (; i < value.Length; i++)
        {
            var c = value[i];
            if (c == '"')
            {
                break;
            }

            if (c == '\\')
            {
                // RFC 9651: only \" and \\ are valid escapes.
                if (i + 1 >= value.Length || value[i + 1] is not ('"' or '\\'))
                {
                    return IdempotencyKeyParseStatus.Malformed;
                }

                hasEscapes = true;
                i++;
            }
            else if (c == ' ')
            {
                // Allowed by the Structured Field grammar, but a key is visible characters only.
                return IdempotencyKeyParseStatus.InvalidCharacter;
            }
            else if (!IsVisibleAscii(c))
            {
                return IdempotencyKeyParseStatus.InvalidCharacter;
            }

            keyLength++;
        }

        if (i >= value.Length)
        {
            return IdempotencyKeyParseStatus.Malformed; // no closing quote
        }

        if (!AreValidParameters(value[(i + 1)..]))
        {
            return IdempotencyKeyParseStatus.Malformed;
        }

        if (keyLength == 0)
        {
            return IdempotencyKeyParseStatus.Empty;
        }

        if (keyLength > maxLength)
        {
            return IdempotencyKeyParseStatus.TooLong;
        }

        var content = value[1..i];
        key = hasEscapes ? Unescape(content, keyLength) : content.ToString();
        return IdempotencyKeyParseStatus.Valid;
    }

    private static string Unescape(ReadOnlySpan<char> content, int length) =>
        string.Create(length, content.ToString(), static (destination, source) =>
        {
            var written = 0;
            for (var i = 0; i < source.Length; i++)
            {
                var c = source[i];
                if (c == '\\')
                {
                    c = source[++i];
                }

                destination[written++] = c;
            }
        });

    // Parameters (";name" or ";name=value", RFC 9651 section 3.1.2) after the string are allowed and ignored; anything
    // else is not. A value is a bare item: a string (which may hold a comma or a semicolon) or a token, number, byte
    // sequence, boolean or date, none of which holds a comma, a space or a quote. So two keys folded into one field
    // ("a";p=1, "b") are refused as a list, never read as the first key.
    private static bool AreValidParameters(ReadOnlySpan<char> rest)
    {
        while (!rest.IsEmpty)
        {
            if (rest[0] != ';')
            {
                return false;
            }

            rest = rest[1..].TrimStart(' ');
            if (rest.IsEmpty || !IsLowercaseAlphaOrStar(rest[0]))
            {
                return false;
            }

            var keyEnd = 1;
            while (keyEnd < rest.Length && IsParameterKeyChar(rest[keyEnd]))
            {
                keyEnd++;
            }

            rest = rest[keyEnd..];
            if (!rest.IsEmpty && rest[0] == '=')
            {
                var valueLength = BareItemLength(rest[1..]);
                if (valueLength <= 0)
                {
                    return false;
                }

                rest = rest[(1 + valueLength)..];
            }
        }

        return true;
    }

    // The length of the bare item at the start of value, or 0 when there is none.
    private static int BareItemLength(ReadOnlySpan<char> value)
    {
        if (value.IsEmpty)
        {
            return 0;
        }

        if (value[0] == '"' || (value[0] == '%' && value.Length > 1 && value[1] == '"'))
        {
            // A string, or a display string (%"..."), closed by an unescaped quote.
            for (var i = value[0] == '"' ? 1 : 2; i < value.Length; i++)
            {
                var c = value[i];
                if (c == '"')
                {
                    return i + 1;
                }

                if (c == '\\' && value[0] == '"')
                {
                    if (i + 1 >= value.Length || value[i + 1] is not ('"' or '\\'))
                    {
                        return 0;
                    }

                    i++;
                }
                else if (!IsVisibleAscii(c) && c != ' ')
                {
                    return 0;
                }
            }

            return 0; // not closed
        }

        var length = 0;
        while (length < value.Length && IsBareItemChar(value[length]))
        {
            length++;
        }

        return length;
    }

    private static bool IsParameterKeyChar(char c) => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_' or '-' or '.' or '*';

    // Token (tchar, ":", "/"), integer and decimal, byte sequence (base64 between colons), boolean ("?"), date ("@").
    private static bool IsBareItemChar(char c) =>
        char.IsAsciiLetterOrDigit(c) || c is '!' or '#' or '$' or '%' or '&' or '\'' or '*' or '+' or '-' or '.' or '^' or '_' or '`' or '|' or '~' or ':' or '/' or '?' or '@' or '=';

    private static ReadOnlySpan<char> TrimOptionalWhitespace(ReadOnlySpan<char> value) => value.Trim(" \t");

    private static bool IsVisibleAscii(char c) => c is > ' ' and < '\u007f';

    private static bool IsLowercaseAlphaOrStar(char c) => c is (>= 'a' and <= 'z') or '*';
}
