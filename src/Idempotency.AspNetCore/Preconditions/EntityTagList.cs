using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Primitives;

namespace Idempotency.AspNetCore.Preconditions;

/// <summary>
/// The value of an <c>If-Match</c> or <c>If-None-Match</c> header: <c>*</c> (any current representation) or a list
/// of entity tags, such as <c>"563", W/"abc"</c>.
/// </summary>
public sealed class EntityTagList
{
    private EntityTagList(bool isAny, IReadOnlyList<EntityTag> tags)
    {
        IsAny = isAny;
        Tags = tags;
    }

    /// <summary>Gets the list <c>*</c>, which matches any current representation.</summary>
    public static EntityTagList Any { get; } = new(isAny: true, []);

    /// <summary>Gets whether the value is <c>*</c>. <see cref="Tags"/> is then empty.</summary>
    public bool IsAny { get; }

    /// <summary>Gets the listed entity tags, in the order sent; empty for <c>*</c>.</summary>
    public IReadOnlyList<EntityTag> Tags { get; }

    /// <summary>Creates a list of entity tags.</summary>
    /// <param name="tags">The tags; at least one.</param>
    /// <returns>The list.</returns>
    /// <exception cref="ArgumentException"><paramref name="tags"/> is empty or holds <see langword="null"/>.</exception>
    public static EntityTagList Of(params IEnumerable<EntityTag> tags)
    {
        ArgumentNullException.ThrowIfNull(tags);
        var copy = tags.ToArray();
        if (copy.Length == 0 || Array.IndexOf(copy, null) >= 0)
        {
            throw new ArgumentException("Give at least one entity tag, and no null.", nameof(tags));
        }

        return new EntityTagList(isAny: false, copy);
    }

    /// <summary>
    /// Parses the field lines of an <c>If-Match</c> or <c>If-None-Match</c> header, combined as one list
    /// (RFC 9110 section 5.3). Empty list elements are skipped. Invalid: a value that names no tag, an element
    /// that is not an entity tag (an unquoted <c>563</c>, a lowercase <c>w/"563"</c>), or <c>*</c> beside anything else.
    /// </summary>
    /// <param name="fieldLines">The header's values, such as <c>request.Headers.IfMatch</c>.</param>
    /// <param name="list">The parsed list, when valid.</param>
    /// <returns><see langword="true"/> when the value is valid; <see langword="false"/> when it is absent or invalid.</returns>
    public static bool TryParse(StringValues fieldLines, [NotNullWhen(true)] out EntityTagList? list)
    {
        list = null;
        if (fieldLines.Count == 0 || !EntityTagSyntax.TryReadList(fieldLines, out var isAny, out var tags))
        {
            return false;
        }

        list = isAny ? Any : new EntityTagList(isAny: false, tags);
        return true;
    }

    /// <summary>
    /// Evaluates the list as <c>If-Match</c> does (RFC 9110 section 13.1.1): <c>*</c> matches when a current
    /// representation exists; otherwise a listed tag must match <paramref name="current"/> by strong comparison.
    /// </summary>
    /// <param name="current">The entity tag of the current representation, or <see langword="null"/> when there is none.</param>
    /// <returns><see langword="true"/> when the list matches.</returns>
    public bool MatchesStrongly(EntityTag? current)
    {
        if (current is null)
        {
            return false;
        }

        if (IsAny)
        {
            return true;
        }

        foreach (var tag in Tags)
        {
            if (tag.StrongEquals(current))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Evaluates the list as <c>If-None-Match</c> does (RFC 9110 section 13.1.2), before negation: <c>*</c> matches
    /// when a current representation exists; otherwise a listed tag must match <paramref name="current"/> by weak
    /// comparison. The <c>If-None-Match</c> condition is true when this returns <see langword="false"/>.
    /// </summary>
    /// <param name="current">The entity tag of the current representation, or <see langword="null"/> when there is none.</param>
    /// <returns><see langword="true"/> when the list matches.</returns>
    public bool MatchesWeakly(EntityTag? current)
    {
        if (current is null)
        {
            return false;
        }

        if (IsAny)
        {
            return true;
        }

        foreach (var tag in Tags)
        {
            if (tag.WeakEquals(current))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Formats the list as a header value: <c>*</c>, or the tags separated by <c>", "</c>.</summary>
    /// <returns>The header form of the list.</returns>
    public override string ToString() => IsAny ? "*" : string.Join(", ", Tags);
}
