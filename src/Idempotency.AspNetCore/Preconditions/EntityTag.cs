using System.Buffers.Text;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Security.Cryptography;

namespace Idempotency.AspNetCore.Preconditions;

/// <summary>
/// An HTTP entity tag (RFC 9110 section 8.8.3): an opaque validator of one representation of a resource, strong
/// (<c>"563"</c>) or weak (<c>W/"563"</c>).
/// </summary>
/// <remarks>
/// <see cref="Equals(EntityTag?)"/> is identity (same opaque tag, same weakness), which is neither of the RFC's
/// comparisons: use <see cref="StrongEquals"/> for <c>If-Match</c> and <see cref="WeakEquals"/> for <c>If-None-Match</c>.
/// </remarks>
public sealed class EntityTag : IEquatable<EntityTag>
{
    private const string WeakPrefix = "W/";

    // 128 bits of SHA-256 keep collisions out of reach and the header short (22 base64url characters).
    private const int HashTagBytes = 16;

    /// <summary>Initializes an entity tag from its opaque tag, the characters between the quotes.</summary>
    /// <param name="opaqueTag">The characters between the quotes: visible ASCII except <c>"</c>, or obs-text (U+0080 to U+00FF); may be empty.</param>
    /// <param name="isWeak">Whether the tag is weak (<c>W/"..."</c>).</param>
    /// <exception cref="ArgumentException"><paramref name="opaqueTag"/> contains a character an entity tag cannot hold.</exception>
    public EntityTag(string opaqueTag, bool isWeak = false)
    {
        ArgumentNullException.ThrowIfNull(opaqueTag);
        if (opaqueTag.AsSpan().IndexOfAnyExcept(EntityTagSyntax.OpaqueCharacters) >= 0)
        {
            throw new ArgumentException(
                "An opaque tag holds visible ASCII characters other than '\"', or characters U+0080 to U+00FF; spaces, quotes and control characters are not allowed.",
                nameof(opaqueTag));
        }

        OpaqueTag = opaqueTag;
        IsWeak = isWeak;
    }

    /// <summary>Gets the characters between the quotes.</summary>
    public string OpaqueTag { get; }

    /// <summary>Gets whether the tag is weak (<c>W/"..."</c>): it validates a semantically equivalent representation, not identical bytes.</summary>
    public bool IsWeak { get; }

    /// <summary>
    /// Creates the strong tag of a version number: <c>"563"</c> for version 563. A client sends it back in
    /// <c>If-Match</c> to say "only if the version is still 563"; <see cref="TryGetVersion"/> reads it back.
    /// </summary>
    /// <param name="version">The version, or a ledger's last sequence number; zero or more.</param>
    /// <returns>The strong entity tag <c>"{version}"</c>.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="version"/> is negative.</exception>
    public static EntityTag FromVersion(long version)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(version);
        return new EntityTag(version.ToString(CultureInfo.InvariantCulture), isWeak: false, validated: true);
    }

    /// <summary>
    /// Creates an entity tag from the content of a representation: the first 128 bits of its SHA-256, in base64url.
    /// Identical bytes give identical tags, so a strong tag is right for exact bytes; pass
    /// <paramref name="isWeak"/> when hashing a canonical form rather than the bytes sent.
    /// </summary>
    /// <param name="content">The bytes to hash.</param>
    /// <param name="isWeak">Whether to create a weak tag.</param>
    /// <returns>An entity tag such as <c>"n4bQgYhMfWWaL-qgxVrQFa"</c>.</returns>
    public static EntityTag FromHash(ReadOnlySpan<byte> content, bool isWeak = false)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(content, hash);
        return new EntityTag(Base64Url.EncodeToString(hash[..HashTagBytes]), isWeak, validated: true);
    }

    /// <summary>
    /// Parses one entity tag: <c>"xyz"</c> or <c>W/"xyz"</c>, with optional surrounding spaces or tabs.
    /// The weak prefix is case-sensitive, as RFC 9110 defines it.
    /// </summary>
    /// <param name="value">The text to parse.</param>
    /// <param name="tag">The entity tag, when the text is one.</param>
    /// <returns><see langword="true"/> when <paramref name="value"/> is exactly one valid entity tag.</returns>
    public static bool TryParse(ReadOnlySpan<char> value, [NotNullWhen(true)] out EntityTag? tag)
    {
        value = value.Trim(EntityTagSyntax.Whitespace);
        var length = EntityTagSyntax.ReadEntityTag(value, out tag);
        if (length == value.Length && tag is not null)
        {
            return true;
        }

        tag = null;
        return false;
    }

    /// <summary>Parses one entity tag: <c>"xyz"</c> or <c>W/"xyz"</c>.</summary>
    /// <param name="value">The text to parse.</param>
    /// <returns>The entity tag.</returns>
    /// <exception cref="FormatException"><paramref name="value"/> is not exactly one valid entity tag.</exception>
    public static EntityTag Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return TryParse(value, out var tag)
            ? tag
            : throw new FormatException($"'{value}' is not an entity tag: expected a quoted tag such as \"563\" or W/\"563\".");
    }

    /// <summary>
    /// Strong comparison (RFC 9110 section 8.8.3.2), used by <c>If-Match</c>: both tags are strong and their opaque
    /// tags are identical, character for character. A weak tag never matches.
    /// </summary>
    /// <param name="other">The tag to compare with; <see langword="null"/> never matches.</param>
    /// <returns><see langword="true"/> when the tags match strongly.</returns>
    public bool StrongEquals(EntityTag? other) =>
        other is not null && !IsWeak && !other.IsWeak && string.Equals(OpaqueTag, other.OpaqueTag, StringComparison.Ordinal);

    /// <summary>
    /// Weak comparison (RFC 9110 section 8.8.3.2), used by <c>If-None-Match</c>: the opaque tags are identical,
    /// character for character, whether either tag is weak or not.
    /// </summary>
    /// <param name="other">The tag to compare with; <see langword="null"/> never matches.</param>
    /// <returns><see langword="true"/> when the tags match weakly.</returns>
    public bool WeakEquals(EntityTag? other) =>
        other is not null && string.Equals(OpaqueTag, other.OpaqueTag, StringComparison.Ordinal);

    /// <summary>
    /// Reads the version number of a tag made by <see cref="FromVersion"/>: the opaque tag is a non-negative decimal
    /// number in canonical form (no sign, no leading zero), so that exactly one tag names each version. The tag's
    /// weakness is not considered: check <see cref="IsWeak"/> when the comparison must be strong.
    /// </summary>
    /// <param name="version">The version, when the tag holds one.</param>
    /// <returns><see langword="true"/> when the opaque tag is a canonical version number.</returns>
    public bool TryGetVersion(out long version)
    {
        var text = OpaqueTag.AsSpan();
        var canonical = text.Length > 0
            && !text.ContainsAnyExceptInRange('0', '9')
            && (text.Length == 1 || text[0] != '0');
        if (canonical && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out version))
        {
            return true;
        }

        version = 0;
        return false;
    }

    /// <summary>Formats the tag as it appears in an <c>ETag</c> header: <c>"xyz"</c> or <c>W/"xyz"</c>.</summary>
    /// <returns>The header form of the tag.</returns>
    public override string ToString() => IsWeak ? $"{WeakPrefix}\"{OpaqueTag}\"" : $"\"{OpaqueTag}\"";

    /// <summary>Tells whether <paramref name="other"/> is the same tag: the same opaque tag and the same weakness.</summary>
    /// <param name="other">The tag to compare with.</param>
    /// <returns><see langword="true"/> when the tags are identical.</returns>
    public bool Equals(EntityTag? other) =>
        other is not null && IsWeak == other.IsWeak && string.Equals(OpaqueTag, other.OpaqueTag, StringComparison.Ordinal);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as EntityTag);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(IsWeak, StringComparer.Ordinal.GetHashCode(OpaqueTag));

    // For callers that have already validated the characters (the parser, the factories).
    internal EntityTag(string opaqueTag, bool isWeak, bool validated)
    {
        Debug.Assert(validated && opaqueTag.AsSpan().IndexOfAnyExcept(EntityTagSyntax.OpaqueCharacters) < 0);
        OpaqueTag = opaqueTag;
        IsWeak = isWeak;
    }
}
