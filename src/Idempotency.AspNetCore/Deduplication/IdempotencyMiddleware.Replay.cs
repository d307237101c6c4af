using Microsoft.AspNetCore.Http;

namespace Idempotency.AspNetCore.Deduplication;

internal sealed partial class IdempotencyMiddleware
{
    /// <summary>Writes the stored response byte for byte: status, headers, body, plus <c>Idempotent-Replayed: true</c>.</summary>
    private async Task ReplayAsync(HttpContext context, IdempotencyFeature feature, IdempotencyRecord record)
    {
        var response = context.Response;
        StoredResponse? stored = null;
        var startedStatusCode = 0;
        try
        {
            switch (record.Kind)
            {
                case IdempotencyRecordKind.HttpResponse:
                    stored = StoredResponseFormat.Decode(record.Content);
                    break;
                case IdempotencyRecordKind.OutcomeUnknown:
                    startedStatusCode = StoredResponseFormat.StartedStatus(record);
                    break;
                default:
                    throw new InvalidDataException($"The stored idempotency record holds {record.Kind}, not an HTTP response: the same key was used by another kind of caller (an executor operation, say) and by an HTTP endpoint.");
            }

            if (stored is { BodyOmitted: false })
            {
                // Headers are applied before anything is written, so a value the server refuses (a forged record)
                // still leaves a response that can be cleared and answered 503.
                response.StatusCode = stored.StatusCode;
                var headers = stored.Headers;
                for (var i = 0; i < headers.Count; i++) // by index: a foreach over the interface would box an enumerator
                {
                    var (name, values) = headers[i];
                    response.Headers[name] = values;
                }

                response.Headers[IdempotencyDefaults.ReplayedHeaderName] = "true";
            }
        }
        catch (Exception ex) when (ex is InvalidDataException or InvalidOperationException or ArgumentException)
        {
            response.Clear();
            await RefuseUnreadableRecordAsync(context, feature, ex);
            return;
        }

        Record(context, feature, IdempotencyOutcome.Replayed);
        if (stored is null)
        {
            LogReplayedOutcomeUnknown(_logger, feature.Key, startedStatusCode);
            await _problems.OutcomeUnknownAsync(context, startedStatusCode);
            return;
        }

        if (stored.BodyOmitted)
        {
            LogReplayTooLarge(_logger, feature.Key, stored.StatusCode);
            await _problems.ResponseTooLargeAsync(context, stored.StatusCode);
            return;
        }

        LogReplayed(_logger, feature.Key, stored.StatusCode);
        if (!stored.Body.IsEmpty)
        {
            await response.Body.WriteAsync(stored.Body, context.RequestAborted);
        }
    }

    private async Task RefuseUnreadableRecordAsync(HttpContext context, IdempotencyFeature feature, Exception exception)
    {
        LogStoredResponseUnreadable(_logger, exception, _engine.HashKey(feature.Key));
        Record(context, feature, IdempotencyOutcome.StoreUnavailable);
        await _problems.StoreUnavailableAsync(context, storeFull: false);
    }
}
