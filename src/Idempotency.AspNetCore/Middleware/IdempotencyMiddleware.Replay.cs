using Microsoft.AspNetCore.Http;

namespace Idempotency.AspNetCore;

internal sealed partial class IdempotencyMiddleware
{
    /// <summary>Writes the stored response byte for byte: status, headers, body, plus <c>Idempotent-Replayed: true</c>.</summary>
    private async Task ReplayAsync(HttpContext context, string key, ReadOnlyMemory<byte> payload)
    {
        StoredResponse stored;
        try
        {
            stored = StoredPayloadFormat.DecodeResponse(payload);
        }
        catch (InvalidDataException ex)
        {
            LogStoredResponseUnreadable(_logger, ex, key);
            _metrics.Request(IdempotencyOutcome.StoreUnavailable);
            await _problems.StoreUnavailableAsync(context, storeFull: false);
            return;
        }

        _metrics.Request(IdempotencyOutcome.Replayed);
        if (stored.BodyOmitted)
        {
            LogReplayTooLarge(_logger, key, stored.StatusCode);
            await _problems.ResponseTooLargeAsync(context, stored.StatusCode);
            return;
        }

        LogReplayed(_logger, key, stored.StatusCode);
        var response = context.Response;
        response.StatusCode = stored.StatusCode;
        foreach (var (name, values) in stored.Headers)
        {
            response.Headers[name] = ToStringValues(values);
        }

        response.Headers[IdempotencyDefaults.ReplayedHeaderName] = "true";
        if (!stored.Body.IsEmpty)
        {
            await response.Body.WriteAsync(stored.Body, context.RequestAborted);
        }
    }
}
