using Idempotency.AspNetCore;
using Idempotency.AspNetCore.Deduplication;
using Idempotency.AspNetCore.Preconditions;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Adds the enforcement of <c>.RequirePrecondition()</c> to the pipeline.</summary>
public static class PreconditionApplicationBuilderExtensions
{
    /// <summary>
    /// Answers 428 Precondition Required to an unsafe request without <c>If-Match</c> or <c>If-None-Match</c> on an
    /// endpoint marked with <c>.RequirePrecondition()</c> or <see cref="RequirePreconditionAttribute"/>, and 400 to one
    /// whose header is malformed. Call it after <c>UseRouting()</c> when you call that (it needs the endpoint to find
    /// the requirement), after <c>UseAuthentication()</c> and <c>UseAuthorization()</c>, so that an unauthorized caller
    /// learns nothing about the endpoint, and before <c>UseIdempotency()</c>, so that a refused request never reaches
    /// the idempotency store. Problem types use <see cref="IdempotencyOptions.ProblemTypeBaseUri"/>.
    /// </summary>
    /// <param name="app">The application builder.</param>
    /// <returns>The same application builder.</returns>
    /// <exception cref="InvalidOperationException">
    /// <c>UseIdempotency()</c> was called before it. When <c>UseRouting()</c> is called after it, the host fails when it
    /// builds its pipeline, at start-up.
    /// </exception>
    public static IApplicationBuilder UsePreconditions(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);

        // After the idempotency middleware, a 400 for a malformed header would be stored under the request's key: the
        // corrected resubmission (the same operation, so the same key) would then be refused as a reuse of the key, and
        // an identical retry replayed the stored refusal. (A 428 is not stored by default, but would claim and release
        // a key for every refused write.)
        if (app.Properties.ContainsKey(PipelineOrder.UseIdempotencyCalledKey))
        {
            throw new InvalidOperationException(
                "'app.UsePreconditions()' must be called before 'app.UseIdempotency()': after it, a write refused with 400 " +
                "for a malformed If-Match or If-None-Match would be stored under its Idempotency-Key, and the client's " +
                "corrected resubmission under the same key would be refused as a reuse of the key (422). Move " +
                "'app.UsePreconditions()' up.");
        }

        // Before routing the middleware sees no endpoint, hence no requirement: every write would pass, silently.
        PipelineOrder.RequireRoutingFirst(
            app, "app.UsePreconditions()", "cannot see which endpoints require a precondition, and writes without If-Match would reach them");
        return app.UseMiddleware<PreconditionMiddleware>();
    }
}
