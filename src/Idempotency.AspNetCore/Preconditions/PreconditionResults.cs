using Idempotency.AspNetCore.Deduplication;
using Microsoft.AspNetCore.Http;

namespace Idempotency.AspNetCore.Preconditions;

/// <summary>
/// The responses of conditional requests, for endpoints that decide preconditions themselves. Problem responses use
/// the types of <see cref="PreconditionProblemTypes"/> under <see cref="IdempotencyOptions.ProblemTypeBaseUri"/>.
/// </summary>
public static class PreconditionResults
{
    /// <summary>
    /// 428 Precondition Required (RFC 6585): the endpoint accepts only conditional requests. The problem says how to
    /// resubmit.
    /// </summary>
    /// <param name="detail">How to resubmit, for this endpoint; <see langword="null"/> for the general advice (read, then send <c>If-Match</c>).</param>
    /// <returns>The 428 problem response.</returns>
    public static IResult PreconditionRequired(string? detail = null) =>
        new PreconditionProblemResult(PreconditionProblem.Required(detail), null);

    /// <summary>412 Precondition Failed, with the current entity tag in the <c>ETag</c> header so the client can read and decide again.</summary>
    /// <param name="currentETag">The entity tag of the current representation; <see langword="null"/> when there is none.</param>
    /// <param name="detail">What failed, for this endpoint; <see langword="null"/> for a general explanation.</param>
    /// <returns>The 412 problem response.</returns>
    public static IResult PreconditionFailed(EntityTag? currentETag, string? detail = null) =>
        new PreconditionProblemResult(PreconditionProblem.Failed(currentETag, detail), currentETag);

    /// <summary>304 Not Modified, with the current <c>ETag</c> (or, without one, <c>Last-Modified</c>) and no body.</summary>
    /// <param name="currentETag">The entity tag of the current representation.</param>
    /// <param name="lastModified">The last modification date, sent only when there is no entity tag.</param>
    /// <returns>The 304 response.</returns>
    public static IResult NotModified(EntityTag? currentETag, DateTimeOffset? lastModified = null) =>
        new NotModifiedResult(currentETag, lastModified);
}
