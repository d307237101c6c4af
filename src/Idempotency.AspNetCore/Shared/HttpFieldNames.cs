namespace Idempotency.AspNetCore;

/// <summary>The one check of header names that options name, shared by every options validator of this package.</summary>
internal static class HttpFieldNames
{
    // A field name is a token (RFC 9110 sections 5.1 and 5.6.2): ASCII letters, digits and !#$%&'*+-.^_`|~.
    public static bool IsValid(string? value) =>
        !string.IsNullOrEmpty(value) && value.All(static c => char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c, StringComparison.Ordinal));
}
