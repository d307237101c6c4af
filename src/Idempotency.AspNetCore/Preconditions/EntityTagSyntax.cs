using System.Buffers;

namespace Idempotency.AspNetCore.Preconditions;

/// <summary>The RFC 9110 grammar of entity tags and of the lists in <c>If-Match</c> and <c>If-None-Match</c>.</summary>
internal static class EntityTagSyntax
{
    // etagc = %x21 / %x23-7E / obs-text (%x80-FF): visible ASCII except DQUOTE, and the obs-text range.
    public static readonly SearchValues<char> OpaqueCharacters = SearchValues.Create(
        "!#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~"
        + string.Concat(Enumerable.Range(0x80, 0x80).Select(c => (char)c)));

    // OWS = *( SP / HTAB )
    public const string Whitespace = " \t";

    /// <summary>
    /// Reads one <c>entity-tag</c> at the start of <paramref name="text"/>: <c>[ "W/" ] DQUOTE *etagc DQUOTE</c>.
    /// </summary>
    /// <returns>The number of characters read, or 0 (with a <see langword="null"/> tag) when none starts there.</returns>
    public static int ReadEntityTag(ReadOnlySpan<char> text, out EntityTag? tag)
    {
        tag = null;
        var isWeak = text.StartsWith("W/", StringComparison.Ordinal);
        var start = isWeak ? 2 : 0;
        if (text.Length <= start || text[start] != '"')
        {
            return 0;
        }

        var opaque = text[(start + 1)..];
        var end = opaque.IndexOfAnyExcept(OpaqueCharacters);
        if (end < 0 || opaque[end] != '"')
        {
            return 0;
        }

        tag = new EntityTag(opaque[..end].ToString(), isWeak, validated: true);
        return start + end + 2;
    }

    /// <summary>
    /// Reads the combined field lines of <c>If-Match</c> or <c>If-None-Match</c>: <c>"*" / #entity-tag</c>. Empty list
    /// elements are skipped, as RFC 9110 section 5.6.1 asks; a value that names no tag at all, or <c>*</c> beside
    /// anything else, is invalid.
    /// </summary>
    public static bool TryReadList(IEnumerable<string?> fieldLines, out bool isAny, out List<EntityTag> tags)
    {
        isAny = false;
        tags = [];
        foreach (var line in fieldLines)
        {
            var rest = (line ?? string.Empty).AsSpan();
            while (true)
            {
                rest = rest.TrimStart(Whitespace);
                if (rest.IsEmpty)
                {
                    break;
                }

                if (rest[0] == ',')
                {
                    rest = rest[1..]; // an empty list element
                    continue;
                }

                int read;
                if (rest[0] == '*')
                {
                    if (isAny || tags.Count > 0)
                    {
                        return false;
                    }

                    isAny = true;
                    read = 1;
                }
                else
                {
                    if (isAny)
                    {
                        return false;
                    }

                    read = ReadEntityTag(rest, out var tag);
                    if (read == 0)
                    {
                        return false;
                    }

                    tags.Add(tag!);
                }

                rest = rest[read..].TrimStart(Whitespace);
                if (!rest.IsEmpty && rest[0] != ',')
                {
                    return false; // two elements without a comma between them, or junk after a tag
                }
            }
        }

        return isAny || tags.Count > 0;
    }
}
