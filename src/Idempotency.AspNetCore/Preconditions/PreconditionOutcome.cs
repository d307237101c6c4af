namespace Idempotency.AspNetCore.Preconditions;

/// <summary>What the preconditions of a request decide (RFC 9110 section 13.2.2).</summary>
public enum PreconditionOutcome
{
    /// <summary>Every precondition holds, or none was sent: perform the method.</summary>
    Proceed,

    /// <summary>
    /// A GET or HEAD whose <c>If-None-Match</c> or <c>If-Modified-Since</c> is false: answer 304 Not Modified, the
    /// client's cached copy is current.
    /// </summary>
    NotModified,

    /// <summary>
    /// <c>If-Match</c> or <c>If-Unmodified-Since</c> is false, or <c>If-None-Match</c> is false on a method other than
    /// GET and HEAD: answer 412 Precondition Failed with the current entity tag, and do not perform the method.
    /// </summary>
    PreconditionFailed,

    /// <summary>
    /// An unsafe request carries an <c>If-Match</c> or <c>If-None-Match</c> that is not valid (an unquoted tag,
    /// <c>*</c> in a list): answer 400, since running the write unconditionally could lose an update. Safe methods
    /// ignore such a header instead, as they ignore an invalid date.
    /// </summary>
    MalformedHeader,
}
