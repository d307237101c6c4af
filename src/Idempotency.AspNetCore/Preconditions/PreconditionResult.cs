using Microsoft.AspNetCore.Http;

namespace Idempotency.AspNetCore.Preconditions;

/// <summary>
/// What <c>request.EvaluatePreconditions(...)</c> decided, and the response to send when the method must not run.
/// </summary>
public readonly struct PreconditionResult
{
    internal PreconditionResult(PreconditionOutcome outcome, EntityTag? currentETag, DateTimeOffset? lastModified, string? malformedHeader)
    {
        Outcome = outcome;
        CurrentETag = currentETag;
        LastModified = lastModified;
        MalformedHeader = malformedHeader;
    }

    /// <summary>Gets the decision.</summary>
    public PreconditionOutcome Outcome { get; }

    /// <summary>Gets whether the method may run (<see cref="PreconditionOutcome.Proceed"/>).</summary>
    public bool CanProceed => Outcome == PreconditionOutcome.Proceed;

    /// <summary>Gets the entity tag of the current representation the preconditions were evaluated against.</summary>
    public EntityTag? CurrentETag { get; }

    /// <summary>Gets the last modification date the preconditions were evaluated against.</summary>
    public DateTimeOffset? LastModified { get; }

    /// <summary>Gets, for <see cref="PreconditionOutcome.MalformedHeader"/>, the name of the header that is not valid.</summary>
    public string? MalformedHeader { get; }

    /// <summary>
    /// Gets the response for a request that must not run: 304 with <c>ETag</c> (or <c>Last-Modified</c>), 412
    /// problem+json with the current <c>ETag</c>, or 400 problem+json naming the malformed header.
    /// </summary>
    /// <returns>The response to return from the endpoint.</returns>
    /// <exception cref="InvalidOperationException">The outcome is <see cref="PreconditionOutcome.Proceed"/>: run the method instead.</exception>
    public IResult ToHttpResult() => Outcome switch
    {
        PreconditionOutcome.NotModified => PreconditionResults.NotModified(CurrentETag, LastModified),
        PreconditionOutcome.PreconditionFailed => PreconditionResults.PreconditionFailed(CurrentETag),
        PreconditionOutcome.MalformedHeader => new PreconditionProblemResult(PreconditionProblem.Malformed(MalformedHeader!), null),
        _ => throw new InvalidOperationException("The preconditions hold: perform the request instead of answering with a precondition result (check CanProceed first)."),
    };
}
