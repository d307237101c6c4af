using Idempotency.AspNetCore.Deduplication;
using Idempotency.AspNetCore.Preconditions;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Adds the enforcement of <c>.RequirePrecondition()</c> to the pipeline.</summary>
public static class PreconditionApplicationBuilderExtensions
{
    /// <summary>
    /// Answers 428 Precondition Required to an unsafe request without <c>If-Match</c> or <c>If-None-Match</c> on an
    /// endpoint marked with <c>.RequirePrecondition()</c> or <see cref="RequirePreconditionAttribute"/>, and 400 to one
    /// whose header is malformed. Call it after <c>UseAuthentication()</c> and <c>UseAuthorization()</c>, so that an
    /// unauthorized caller learns nothing about the endpoint, and before <c>UseIdempotency()</c>, so that a refused
    /// request never reaches the idempotency store. Problem types use <see cref="IdempotencyOptions.ProblemTypeBaseUri"/>.
    /// </summary>
    /// <param name="app">The application builder.</param>
    /// <returns>The same application builder.</returns>
    public static IApplicationBuilder UsePreconditions(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        return app.UseMiddleware<PreconditionMiddleware>();
    }
}
