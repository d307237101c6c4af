using Microsoft.AspNetCore.Http;

namespace Idempotency.AspNetCore.Preconditions;

/// <summary>The status, stable type and wording of each precondition problem response.</summary>
internal sealed record PreconditionProblem(int Status, string Type, string Title, string Detail)
{
    public const string DefaultRequiredDetail =
        "This endpoint accepts only conditional requests, so that a change made since you last read the resource is " +
        "never overwritten and a duplicated request is never applied twice. Read the resource (GET) and resubmit with " +
        "'If-Match' set to the ETag you received (or, for a request that creates a resource that must not exist yet, with 'If-None-Match: *').";

    public static PreconditionProblem Required(string? detail) => new(
        StatusCodes.Status428PreconditionRequired, PreconditionProblemTypes.PreconditionRequired, "Precondition required",
        detail ?? DefaultRequiredDetail);

    public static PreconditionProblem Failed(EntityTag? currentETag, string? detail) => new(
        StatusCodes.Status412PreconditionFailed, PreconditionProblemTypes.PreconditionFailed, "Precondition failed",
        detail ?? (currentETag is null
            ? "The request's precondition is false, so it was not applied: the resource has no current representation."
            : $"The request's precondition is false, so it was not applied: the resource's current entity tag is {currentETag} (see the ETag header). " +
              "Read it again before deciding whether to resubmit; a duplicate of a request that already succeeded gets this answer too."));

    public static PreconditionProblem Malformed(string headerName) => new(
        StatusCodes.Status400BadRequest, PreconditionProblemTypes.PreconditionMalformed, "Precondition header malformed",
        $"The '{headerName}' header is not a valid list of entity tags, so the request was not applied. Send '*' or quoted " +
        "tags exactly as received in the ETag header, such as \"563\" or W/\"563\" (the quotes are part of the tag).");
}
