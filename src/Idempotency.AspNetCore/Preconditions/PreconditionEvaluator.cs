using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Idempotency.AspNetCore.Preconditions;

/// <summary>RFC 9110 section 13.2.2: the order in which a server evaluates the preconditions of a request.</summary>
internal static class PreconditionEvaluator
{
    public static PreconditionResult Evaluate(HttpRequest request, EntityTag? currentETag, DateTimeOffset? lastModified)
    {
        var method = request.Method;

        // Section 13.2.1: methods that neither select nor modify a representation ignore preconditions.
        if (HttpMethods.IsConnect(method) || HttpMethods.IsOptions(method) || HttpMethods.IsTrace(method))
        {
            return new PreconditionResult(PreconditionOutcome.Proceed, currentETag, lastModified, null);
        }

        var isGetOrHead = HttpMethods.IsGet(method) || HttpMethods.IsHead(method);
        var headers = request.Headers;

        // HTTP dates have one-second resolution: compare in whole seconds, or a resource modified at 10:00:00.5
        // would look modified since the 10:00:00 the client was given.
        var modified = lastModified is { } date ? TruncateToSeconds(date) : (DateTimeOffset?)null;

        // Step 1: If-Match, by strong comparison; step 2: If-Unmodified-Since, only when If-Match is absent.
        switch (ReadTagList(headers.IfMatch, isGetOrHead, out var ifMatch))
        {
            case ListStatus.Malformed:
                return new PreconditionResult(PreconditionOutcome.MalformedHeader, currentETag, lastModified, HeaderNames.IfMatch);
            case ListStatus.Present:
                if (!ifMatch!.MatchesStrongly(currentETag))
                {
                    return Failed(currentETag, lastModified);
                }

                break;
            case ListStatus.Ignored:
                break; // section 13.1.4: If-Unmodified-Since is ignored when the request contains If-Match at all
            default:
                if (modified is { } last && TryReadDate(headers.IfUnmodifiedSince, out var unmodifiedSince) && last > unmodifiedSince)
                {
                    return Failed(currentETag, lastModified);
                }

                break;
        }

        // Step 3: If-None-Match, by weak comparison; step 4: If-Modified-Since, only for GET and HEAD without If-None-Match.
        switch (ReadTagList(headers.IfNoneMatch, isGetOrHead, out var ifNoneMatch))
        {
            case ListStatus.Malformed:
                return new PreconditionResult(PreconditionOutcome.MalformedHeader, currentETag, lastModified, HeaderNames.IfNoneMatch);
            case ListStatus.Present:
                if (ifNoneMatch!.MatchesWeakly(currentETag))
                {
                    return isGetOrHead
                        ? new PreconditionResult(PreconditionOutcome.NotModified, currentETag, lastModified, null)
                        : Failed(currentETag, lastModified);
                }

                break;
            case ListStatus.Ignored:
                break; // section 13.1.3: If-Modified-Since is ignored when the request contains If-None-Match at all
            default:
                if (isGetOrHead && modified is { } last && TryReadDate(headers.IfModifiedSince, out var modifiedSince) && last <= modifiedSince)
                {
                    return new PreconditionResult(PreconditionOutcome.NotModified, currentETag, lastModified, null);
                }

                break;
        }

        // Step 5 (If-Range) concerns range requests, which these helpers do not serve.
        return new PreconditionResult(PreconditionOutcome.Proceed, currentETag, lastModified, null);
    }

    /// <summary>Tells whether a method is unsafe (RFC 9110 section 9.2.1): anything but GET, HEAD, OPTIONS and TRACE.</summary>
    public static bool IsUnsafe(string method) =>
        !HttpMethodSemantics.IsSafe(method);

    private static PreconditionResult Failed(EntityTag? currentETag, DateTimeOffset? lastModified) =>
        new(PreconditionOutcome.PreconditionFailed, currentETag, lastModified, null);

    // A safe method ignores a header it cannot read: the worst outcome is a full response (so the date it replaces is
    // not read in its place). A write must not, since ignoring the condition would run it unconditionally.
    private static ListStatus ReadTagList(StringValues values, bool ignoreIfMalformed, out EntityTagList? list)
    {
        if (values.Count == 0)
        {
            list = null;
            return ListStatus.Absent;
        }

        if (EntityTagList.TryParse(values, out list))
        {
            return ListStatus.Present;
        }

        return ignoreIfMalformed ? ListStatus.Ignored : ListStatus.Malformed;
    }

    // Sections 13.1.3 and 13.1.4: a recipient ignores a date that is not one valid HTTP-date, including a list of dates.
    private static bool TryReadDate(StringValues values, out DateTimeOffset date)
    {
        if (values.Count == 1 && HeaderUtilities.TryParseDate(values[0], out date))
        {
            return true;
        }

        date = default;
        return false;
    }

    private static DateTimeOffset TruncateToSeconds(DateTimeOffset value) =>
        new(value.UtcTicks - (value.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero);

    private enum ListStatus
    {
        Absent,
        Present,
        Malformed,

        // Sent but unreadable, on a read: neither evaluated nor replaced by its date counterpart.
        Ignored,
    }
}
