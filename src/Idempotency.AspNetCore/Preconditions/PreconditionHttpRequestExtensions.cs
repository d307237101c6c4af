using Idempotency.AspNetCore.Preconditions;

namespace Microsoft.AspNetCore.Http;

/// <summary>Reads the preconditions of a request (<c>If-Match</c>, <c>If-None-Match</c>, <c>If-Modified-Since</c>, <c>If-Unmodified-Since</c>).</summary>
public static class PreconditionHttpRequestExtensions
{
    /// <summary>
    /// Evaluates the request's preconditions against the current state of its target, in the order of RFC 9110
    /// section 13.2.2: <c>If-Match</c> (strong comparison), then <c>If-Unmodified-Since</c> (only without
    /// <c>If-Match</c>), then <c>If-None-Match</c> (weak comparison), then <c>If-Modified-Since</c> (GET and HEAD only,
    /// without <c>If-None-Match</c>). Call it after authentication and validation, just before the method would run,
    /// and only when the request would otherwise succeed (a request for a missing resource that would get 404 gets it
    /// regardless of preconditions). CONNECT, OPTIONS and TRACE always proceed.
    /// </summary>
    /// <remarks>
    /// Checking headers and then writing is check-then-act: for a write, pass the expected version to the store
    /// (<c>UpdateIfVersionAsync</c>, <c>AppendIfLastAsync</c>) so that it checks again atomically.
    /// </remarks>
    /// <param name="request">The request.</param>
    /// <param name="currentETag">The entity tag of the current representation; <see langword="null"/> when the target has none (it does not exist yet).</param>
    /// <param name="lastModified">The last modification date of the current representation, when known; compared in whole seconds.</param>
    /// <returns>Whether to proceed, and otherwise the 304, 412 or 400 response to send.</returns>
    public static PreconditionResult EvaluatePreconditions(this HttpRequest request, EntityTag? currentETag, DateTimeOffset? lastModified = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        return PreconditionEvaluator.Evaluate(request, currentETag, lastModified);
    }

    /// <summary>
    /// Reads the version a conditional write expects: <c>If-Match</c> holding exactly one strong entity tag made by
    /// <see cref="EntityTag.FromVersion"/>, such as <c>If-Match: "563"</c>. Pass the version to the store, which applies
    /// the write only if the target is still at that version.
    /// </summary>
    /// <remarks>
    /// <see langword="false"/> does not mean the request is unconditional: <c>W/"563"</c>, <c>"7", "563"</c> and
    /// <c>*</c> are conditions that RFC 9110 evaluates (a weak tag never matches: 412; a list holding the current tag
    /// proceeds). Answer 428 only when <c>If-Match</c> is absent; otherwise evaluate the request with
    /// <see cref="EvaluatePreconditions"/> against the current tag, and pass the current version to the store.
    /// </remarks>
    /// <param name="request">The request.</param>
    /// <param name="version">The expected version, when the header names one.</param>
    /// <returns>
    /// <see langword="false"/> when <c>If-Match</c> is absent, malformed, <c>*</c>, a list of several tags, a weak tag
    /// (which never matches strongly) or not a version number.
    /// </returns>
    public static bool TryGetIfMatchVersion(this HttpRequest request, out long version)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (EntityTagList.TryParse(request.Headers.IfMatch, out var list)
            && list.Tags is [{ IsWeak: false } tag]
            && tag.TryGetVersion(out version))
        {
            return true;
        }

        version = 0;
        return false;
    }
}
