using Idempotency;
using Idempotency.AspNetCore.Preconditions;

namespace Microsoft.AspNetCore.Http;

/// <summary>Turns the outcome of a conditional write into its HTTP response.</summary>
public static class ConditionalWriteResultHttpExtensions
{
    /// <summary>
    /// Answers a conditional write. Applied: 201 Created with <c>Location</c> when <paramref name="location"/> is given,
    /// otherwise 200 OK, with <c>ETag</c> set to the new version and <paramref name="value"/> as JSON. Version conflict:
    /// 412 Precondition Failed problem+json with <c>ETag</c> set to the current version, so a duplicate fails softly and
    /// the client can read and decide again. Not found: 404 problem+json.
    /// </summary>
    /// <param name="result">The outcome of the store write.</param>
    /// <param name="location">The URI of the created resource or entry, for a write that creates one.</param>
    /// <param name="value">
    /// The body of a successful response; <see langword="null"/> for none. Serialized by its run-time type with the
    /// application's <see cref="Json.JsonOptions"/> (<c>ConfigureHttpJsonOptions</c>), as <c>Results.Json</c> does; under
    /// Native AOT, add a <c>JsonSerializerContext</c> that lists the type to its <c>TypeInfoResolverChain</c>.
    /// </param>
    /// <returns>The response to return from the endpoint.</returns>
    /// <exception cref="ArgumentException"><paramref name="result"/> is <see langword="default"/>, which no store returns.</exception>
    public static IResult ToHttpResult(this ConditionalWriteResult result, string? location = null, object? value = null) => result.Status switch
    {
        ConditionalWriteStatus.Applied => new ConditionalWriteAppliedResult(EntityTag.FromVersion(result.Version), location, value),
        ConditionalWriteStatus.VersionConflict => PreconditionResults.PreconditionFailed(EntityTag.FromVersion(result.Version)),
        ConditionalWriteStatus.NotFound => Results.Problem(
            statusCode: StatusCodes.Status404NotFound,
            title: "Not found",
            detail: "The resource to update does not exist, so nothing was written."),
        _ => throw new ArgumentException("The result holds no outcome; use the result a store returned.", nameof(result)),
    };
}
