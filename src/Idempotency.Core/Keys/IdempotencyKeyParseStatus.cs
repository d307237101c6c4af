namespace Idempotency;

/// <summary>Why an <c>Idempotency-Key</c> header value was or was not accepted.</summary>
public enum IdempotencyKeyParseStatus
{
    /// <summary>The value names a valid key.</summary>
    Valid,

    /// <summary>The value is neither a Structured Field string nor, outside strict mode, a bare token.</summary>
    Malformed,

    /// <summary>The value names the empty key (<c>""</c>) or is blank.</summary>
    Empty,

    /// <summary>The key is longer than the configured maximum.</summary>
    TooLong,

    /// <summary>The key contains a control character, a space or a non-ASCII character.</summary>
    InvalidCharacter,

    /// <summary>Strict mode is on and the key was sent unquoted.</summary>
    NotQuoted,
}
