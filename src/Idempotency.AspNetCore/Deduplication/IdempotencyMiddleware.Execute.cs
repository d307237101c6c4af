using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;

namespace Idempotency.AspNetCore.Deduplication;

internal sealed partial class IdempotencyMiddleware
{
    /// <summary>
    /// The handler as the engine's work: runs it under the claimed key while teeing its response body into a buffer,
    /// and turns the response into the record to store, or into "release" for a transient outcome. With
    /// <c>holdResponse</c> (a unit-of-work store that commits with the handler's work) the response reaches the client
    /// only after the engine's commit succeeded.
    /// </summary>
    private sealed class HttpWork : IIdempotentWork<bool>, IDisposable
    {
        private readonly IdempotencyMiddleware _middleware;
        private readonly HttpContext _context;
        private readonly IdempotencyFeature _feature;
        private readonly IdempotencyEndpointPolicy _policy;
        private readonly IHttpResponseBodyFeature _originalBody;
        private readonly ResponseCaptureStream _capture;
        private readonly ResponseCaptureFeature _captureBody;

        public HttpWork(IdempotencyMiddleware middleware, HttpContext context, IdempotencyFeature feature, IdempotencyEndpointPolicy policy, bool holdResponse)
        {
            _middleware = middleware;
            _context = context;
            _feature = feature;
            _policy = policy;
            HoldsResponse = holdResponse;
            _originalBody = context.Features.GetRequiredFeature<IHttpResponseBodyFeature>();
            _capture = new ResponseCaptureStream(context.Response, holdResponse ? null : _originalBody.Stream, policy.MaxStoredBodySize);
            _captureBody = new ResponseCaptureFeature(_capture, holdResponse ? null : _originalBody);
        }

        /// <summary>Gets whether the response is held back until the unit of work commits.</summary>
        public bool HoldsResponse { get; }

        /// <summary>Gets whether a held response outgrew the limit, so it was released and can be neither sent nor stored.</summary>
        public bool HeldResponseTooLarge { get; private set; }

        public long BytesWritten => _capture.BytesWritten;

        /// <summary>Gets the endpoint's limit on the stored response body.</summary>
        public int MaxStoredBodySize => _policy.MaxStoredBodySize;

        public async ValueTask<bool> RunAsync(CancellationToken cancellationToken)
        {
            _context.Features.Set<IHttpResponseBodyFeature>(_captureBody);
            _context.Features.Set<IIdempotencyFeature>(_feature);
            try
            {
                await _middleware._next(_context);
                await _captureBody.FinishAsync(); // passes on what the handler left in Response.BodyWriter; copies the headers if nothing went out
                return true;
            }
            finally
            {
                RestoreResponseBody();
            }
        }

        // Part of the response may have reached the client: its effect must be presumed applied.
        public bool HasDeliveryStarted(out int startedStatus)
        {
            startedStatus = _context.Response.StatusCode;
            return _capture.BytesWritten > 0 || _context.Response.HasStarted;
        }

        public IdempotencyRecordContent? CreateRecord(bool outcome)
        {
            if (HoldsResponse && _capture.Overflowed)
            {
                HeldResponseTooLarge = true;
                return null;
            }

            if (!_policy.ShouldStoreResponse(new IdempotencyOutcomeArguments(_context)))
            {
                return null;
            }

            if (_capture.Overflowed)
            {
                LogResponseTooLargeToStore(_middleware._logger, _capture.BytesWritten, _policy.MaxStoredBodySize, _middleware._engine.HashKey(_feature.Key));
            }

            return StoredResponseFormat.Content(CaptureResponse(_context.Response, _capture));
        }

        public void RestoreResponseBody() => _context.Features.Set(_originalBody);

        public async Task SendHeldResponseAsync()
        {
            var body = _capture.Captured;
            if (HoldsResponse && body.Length > 0)
            {
                await _context.Response.Body.WriteAsync(body, _context.RequestAborted);
            }
        }

        public void Dispose() => _capture.Dispose();

        // The headers as the handler left them, copied before anything reached the middleware outside: never the handler's
        // body with headers that outer middleware (response compression) changed for its own, transformed bytes. The status
        // is the one the outcome was judged by (outer middleware changes headers as the bytes reach it, not the status).
        private static StoredResponse CaptureResponse(HttpResponse response, ResponseCaptureStream capture) =>
            capture.Overflowed
                ? new StoredResponse(response.StatusCode, capture.Headers, ReadOnlyMemory<byte>.Empty, bodyOmitted: true)
                : new StoredResponse(response.StatusCode, capture.Headers, capture.Captured);
    }

    private static StringValues ToStringValues(string[] values) => values.Length == 1 ? new StringValues(values[0]) : new StringValues(values);
}
