using Idempotency.AspNetCore.Deduplication;

namespace Idempotency.AspNetCore.Preconditions;

/// <summary>
/// The stable <c>type</c> of each problem response about preconditions, appended to
/// <see cref="IdempotencyOptions.ProblemTypeBaseUri"/> like <see cref="IdempotencyProblemTypes"/>. They never change.
/// </summary>
public static class PreconditionProblemTypes
{
    /// <summary>428: the endpoint requires a conditional request (<c>If-Match</c> or <c>If-None-Match</c>) and none was sent.</summary>
    public const string PreconditionRequired = "precondition-required";

    /// <summary>412: a precondition is false: the resource changed since the client read it. The <c>ETag</c> header holds the current tag.</summary>
    public const string PreconditionFailed = "precondition-failed";

    /// <summary>400: an <c>If-Match</c> or <c>If-None-Match</c> header on a write is not a valid list of entity tags.</summary>
    public const string PreconditionMalformed = "precondition-malformed";
}
