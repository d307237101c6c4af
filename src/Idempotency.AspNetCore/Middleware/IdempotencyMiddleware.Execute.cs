using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;

namespace Idempotency.AspNetCore;

internal sealed partial class IdempotencyMiddleware
{
    /// <summary>
    /// Runs the handler under a claimed key while teeing its response body into a buffer, then stores the response
    /// (deterministic outcome) or releases the key (transient outcome or exception). With
    /// <paramref name="holdResponse"/> (request stores that commit with the handler's work) the response reaches the
    /// client only after the commit succeeded.
    /// </summary>
    private async Task ExecuteAsync(HttpContext context, IIdempotencyStore store, IdempotencyFeature feature, string ownerToken, bool holdResponse)
    {
        var originalBody = context.Features.GetRequiredFeature<IHttpResponseBodyFeature>();
        using var capture = new ResponseCaptureStream(context.Response, holdResponse ? null : originalBody.Stream, _options.MaxStoredBodySize);
        var captureBody = new ResponseCaptureFeature(capture, holdResponse ? null : originalBody);
        context.Features.Set<IHttpResponseBodyFeature>(captureBody);
        context.Features.Set<IIdempotencyFeature>(feature);
        try
        {
            await _next(context);
            await captureBody.FinishAsync(); // passes on what the handler left in Response.BodyWriter; copies the headers if nothing went out
        }
        catch (Exception ex)
        {
            context.Features.Set(originalBody);
            LogReleasedAfterException(_logger, ex.GetType().Name, feature.Key);
            await ReleaseAsync(store, feature, ownerToken);
            _metrics.Request(IdempotencyOutcome.Released);
            throw;
        }
        finally
        {
            context.Features.Set(originalBody);
        }

        var statusCode = context.Response.StatusCode;
        if (!_shouldStoreResponse(new IdempotencyOutcomeArguments(context)))
        {
            LogReleasedAfterTransientStatus(_logger, statusCode, feature.Key);
            await ReleaseAsync(store, feature, ownerToken);
            _metrics.Request(IdempotencyOutcome.Released);
            if (holdResponse)
            {
                await SendHeldResponseAsync(context, capture);
            }

            return;
        }

        if (capture.Overflowed)
        {
            LogResponseTooLargeToStore(_logger, capture.BytesWritten, _options.MaxStoredBodySize, feature.Key);
        }

        var payload = StoredPayloadFormat.EncodeResponse(CaptureResponse(context.Response, capture));
        CompletionStatus completion;
        try
        {
            // Not the request's token: once the handler has run, its outcome must be recorded even if the client left.
            completion = await CallStoreAsync(
                store,
                "complete",
                static (s, r, ct) => s.CompleteAsync(r, ct),
                new IdempotencyCompleteRequest(feature.StorageKey, ownerToken, payload, _options.ResponseRetention),
                CancellationToken.None);
        }
        catch (Exception ex)
        {
            LogCompleteFailed(_logger, ex, feature.Key);
            _metrics.Request(IdempotencyOutcome.StoreUnavailable);
            if (holdResponse)
            {
                // Nothing was committed, the handler's work included: the client must retry.
                context.Response.Clear();
                await _problems.StoreUnavailableAsync(context, storeFull: false);
            }

            return;
        }

        if (completion == CompletionStatus.ClaimLost)
        {
            LogClaimLost(_logger, feature.Key, _options.LeaseDuration);
            _metrics.Request(IdempotencyOutcome.ClaimLost);
            if (holdResponse)
            {
                context.Response.Clear();
                await _problems.StoreUnavailableAsync(context, storeFull: false);
            }

            return;
        }

        LogExecuted(_logger, statusCode, feature.Key);
        _metrics.Request(IdempotencyOutcome.Executed);
        if (holdResponse)
        {
            await SendHeldResponseAsync(context, capture);
        }
    }

    // The headers as the handler left them, copied before anything reached the middleware outside: never the handler's
    // body with headers that outer middleware (response compression) changed for its own, transformed bytes. The status
    // is the one the outcome was judged by (outer middleware changes headers as the bytes reach it, not the status).
    private static StoredResponse CaptureResponse(HttpResponse response, ResponseCaptureStream capture) =>
        capture.Overflowed
            ? new StoredResponse(response.StatusCode, capture.Headers, ReadOnlyMemory<byte>.Empty, bodyOmitted: true)
            : new StoredResponse(response.StatusCode, capture.Headers, capture.Captured);

    private static async Task SendHeldResponseAsync(HttpContext context, ResponseCaptureStream capture)
    {
        var body = capture.Captured;
        if (body.Length > 0)
        {
            await context.Response.Body.WriteAsync(body, context.RequestAborted);
        }
    }

    private async Task ReleaseAsync(IIdempotencyStore store, IdempotencyFeature feature, string ownerToken)
    {
        try
        {
            await CallStoreAsync(store, "release", (s, owner, ct) => s.ReleaseAsync(feature.StorageKey, owner, ct), ownerToken, CancellationToken.None);
        }
        catch (Exception ex)
        {
            // The claim stays until its lease ends; a retry before then gets 409, after it runs again.
            LogReleaseFailed(_logger, ex, feature.Key, _options.LeaseDuration);
        }
    }

    private static StringValues ToStringValues(string[] values) => values.Length == 1 ? new StringValues(values[0]) : new StringValues(values);
}
