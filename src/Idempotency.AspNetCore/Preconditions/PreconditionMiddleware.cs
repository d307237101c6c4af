using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Idempotency.AspNetCore.Preconditions;

/// <summary>
/// On endpoints with <see cref="IPreconditionMetadata"/>, refuses an unsafe request that carries no
/// <c>If-Match</c> or <c>If-None-Match</c> (428) or carries one that cannot be read (400), before the handler runs.
/// The handler, or the store write it makes, evaluates the condition itself.
/// </summary>
internal sealed partial class PreconditionMiddleware(RequestDelegate next, ILogger<PreconditionMiddleware> logger)
{
    public Task InvokeAsync(HttpContext context)
    {
        // The common case, an endpoint without the metadata or a read, costs one lookup and no async state machine.
        if (context.GetEndpoint()?.Metadata.GetMetadata<IPreconditionMetadata>() is null || !CanRequireCondition(context.Request.Method))
        {
            return next(context);
        }

        var headers = context.Request.Headers;
        if (headers.IfMatch.Count == 0 && headers.IfNoneMatch.Count == 0)
        {
            LogPreconditionMissing(logger, context.Request.Method, context.Request.Path);
            return PreconditionProblemResult.WriteAsync(context, PreconditionProblem.Required(null), null);
        }

        var malformed = IsMalformed(headers.IfMatch) ? HeaderNames.IfMatch : IsMalformed(headers.IfNoneMatch) ? HeaderNames.IfNoneMatch : null;
        if (malformed is not null)
        {
            LogPreconditionMalformed(logger, context.Request.Method, context.Request.Path, malformed);
            return PreconditionProblemResult.WriteAsync(context, PreconditionProblem.Malformed(malformed), null);
        }

        return next(context);
    }

    private static bool IsMalformed(StringValues values) => values.Count > 0 && !EntityTagList.TryParse(values, out _);

    // Unsafe methods, except CONNECT: RFC 9110 section 13.2.1 has CONNECT ignore preconditions.
    private static bool CanRequireCondition(string method) =>
        PreconditionEvaluator.IsUnsafe(method) && !HttpMethods.IsConnect(method);
}
