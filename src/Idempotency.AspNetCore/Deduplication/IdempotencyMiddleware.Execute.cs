using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;

namespace Idempotency.AspNetCore.Deduplication;

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
            if (!holdResponse && (capture.BytesWritten > 0 || context.Response.HasStarted))
            {
                // Part of the response may have reached the client, so the effect must be presumed applied: a retry
                // must never run it again. The record completes as "outcome unknown" and every retry is told so.
                LogOutcomeUnknown(_logger, ex.GetType().Name, KeyHash(feature));
                await CompleteOutcomeUnknownAsync(context, store, feature, ownerToken, context.Response.StatusCode);
                throw;
            }

            LogReleasedAfterException(_logger, ex.GetType().Name, feature.Key);
            await ReleaseAsync(store, feature, ownerToken);
            Record(context, feature, IdempotencyOutcome.Released);
            throw;
        }
        finally
        {
            context.Features.Set(originalBody);
        }

        var statusCode = context.Response.StatusCode;
        if (holdResponse && capture.Overflowed)
        {
            // The held response was not kept past the limit, so it can neither be sent nor stored: roll back.
            LogHeldResponseTooLarge(_logger, capture.BytesWritten, _options.MaxStoredBodySize, KeyHash(feature));
            await ReleaseAsync(store, feature, ownerToken);
            Record(context, feature, IdempotencyOutcome.Released);
            context.Response.Clear();
            await _problems.ResponseTooLargeToCommitAsync(context, _options.MaxStoredBodySize);
            return;
        }

        bool shouldStore;
        byte[]? payload = null;
        try
        {
            shouldStore = _shouldStoreResponse(new IdempotencyOutcomeArguments(context));
            if (shouldStore)
            {
                payload = StoredPayloadFormat.EncodeResponse(CaptureResponse(context.Response, capture));
            }
        }
        catch (Exception ex)
        {
            LogOutcomeNotRecordable(_logger, ex, KeyHash(feature));
            if (holdResponse)
            {
                // Nothing has been committed or sent: roll back, and let the exception surface as any handler's would.
                await ReleaseAsync(store, feature, ownerToken);
                Record(context, feature, IdempotencyOutcome.Released);
                throw;
            }

            // The handler ran to completion and its response is on its way: never run it again under this key.
            await CompleteOutcomeUnknownAsync(context, store, feature, ownerToken, statusCode);
            return;
        }

        if (!shouldStore)
        {
            LogReleasedAfterTransientStatus(_logger, statusCode, feature.Key);
            await ReleaseAsync(store, feature, ownerToken);
            Record(context, feature, IdempotencyOutcome.Released);
            if (holdResponse)
            {
                await SendHeldResponseAsync(context, capture);
            }

            return;
        }

        if (capture.Overflowed)
        {
            LogResponseTooLargeToStore(_logger, capture.BytesWritten, _options.MaxStoredBodySize, KeyHash(feature));
        }

        CompletionStatus completion;
        try
        {
            // Not the request's token: once the handler has run, its outcome must be recorded even if the client left.
            completion = await CallStoreAsync(
                store,
                "complete",
                static (s, r, ct) => s.CompleteAsync(r, ct),
                new IdempotencyCompleteRequest(feature.StorageKey, ownerToken, payload!, _options.ResponseRetention),
                CancellationToken.None);
        }
        catch (Exception ex)
        {
            LogStoreFaultDetail(_logger, ex, feature.Key);
            LogCompleteFailed(_logger, KeyHash(feature), StoreFaultDescription.Describe(ex, feature.StorageKey));
            Record(context, feature, IdempotencyOutcome.StoreUnavailable);
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
            LogClaimLost(_logger, KeyHash(feature), _options.LeaseDuration);
            Record(context, feature, IdempotencyOutcome.ClaimLost);
            if (holdResponse)
            {
                context.Response.Clear();
                await _problems.StoreUnavailableAsync(context, storeFull: false);
            }

            return;
        }

        LogExecuted(_logger, statusCode, feature.Key);
        Record(context, feature, IdempotencyOutcome.Executed);
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

    /// <summary>Completes the claim with an "outcome unknown" record, so that no retry with this key runs the handler again.</summary>
    private async Task CompleteOutcomeUnknownAsync(HttpContext context, IIdempotencyStore store, IdempotencyFeature feature, string ownerToken, int startedStatusCode)
    {
        Record(context, feature, IdempotencyOutcome.OutcomeUnknown);
        try
        {
            var completion = await CallStoreAsync(
                store,
                "complete",
                static (s, r, ct) => s.CompleteAsync(r, ct),
                new IdempotencyCompleteRequest(feature.StorageKey, ownerToken, StoredPayloadFormat.EncodeOutcomeUnknown(startedStatusCode), _options.ResponseRetention),
                CancellationToken.None);
            if (completion == CompletionStatus.ClaimLost)
            {
                LogClaimLost(_logger, KeyHash(feature), _options.LeaseDuration);
            }
        }
        catch (Exception ex)
        {
            LogStoreFaultDetail(_logger, ex, feature.Key);
            LogCompleteFailed(_logger, KeyHash(feature), StoreFaultDescription.Describe(ex, feature.StorageKey));
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
            LogStoreFaultDetail(_logger, ex, feature.Key);
            LogReleaseFailed(_logger, KeyHash(feature), StoreFaultDescription.Describe(ex, feature.StorageKey), _options.LeaseDuration);
        }
    }

    private static StringValues ToStringValues(string[] values) => values.Length == 1 ? new StringValues(values[0]) : new StringValues(values);
}
