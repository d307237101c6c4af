using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;

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
        private readonly Endpoint _endpoint;
        private readonly IdempotencyEndpointPolicy _policy;
        private IHttpResponseBodyFeature? _originalBody;
        private ResponseCaptureStream? _capture;

        public HttpWork(IdempotencyMiddleware middleware, HttpContext context, Endpoint endpoint, IdempotencyFeature feature, IdempotencyEndpointPolicy policy, bool holdResponse)
        {
            _middleware = middleware;
            _context = context;
            _endpoint = endpoint;
            _feature = feature;
            _policy = policy;
            HoldsResponse = holdResponse;
        }

        /// <summary>Gets whether the response is held back until the unit of work commits.</summary>
        public bool HoldsResponse { get; }

        /// <summary>Gets whether a held response outgrew the limit, so it was released and can be neither sent nor stored.</summary>
        public bool HeldResponseTooLarge { get; private set; }

        public long BytesWritten => _capture?.BytesWritten ?? 0;

        /// <summary>Gets the endpoint's limit on the stored response body.</summary>
        public int MaxStoredBodySize => _policy.MaxStoredBodySize;

        public async ValueTask<bool> RunAsync(CancellationToken cancellationToken)
        {
            // Only a claimed request runs, so only it pays for the capture (a replay, a conflict or a mismatch does not).
            _originalBody = FeatureAccess.Get<IHttpResponseBodyFeature>(_context.Features)
                ?? throw new InvalidOperationException($"The request has no {nameof(IHttpResponseBodyFeature)}: the server must provide one.");
            _capture = new ResponseCaptureStream(_context.Response, HoldsResponse ? null : _originalBody.Stream, _policy.MaxStoredBodySize);
            var captureBody = new ResponseCaptureFeature(_capture, HoldsResponse ? null : _originalBody);
            FeatureAccess.Set<IHttpResponseBodyFeature>(_context.Features, captureBody);
            FeatureAccess.Set<IIdempotencyFeature>(_context.Features, _feature);
            try
            {
                await _middleware._next(_context);
                await captureBody.FinishAsync(); // passes on what the handler left in Response.BodyWriter; copies the headers if nothing went out
                return true;
            }
            finally
            {
                RestoreResponseBody();
            }
        }

        // Part of the response may have reached the client: its effect must be presumed applied. Bytes the handler
        // committed to its body writer and never flushed did not leave.
        public bool HasDeliveryStarted(out int startedStatus)
        {
            startedStatus = _context.Response.StatusCode;
            return _capture is { PassedOn: true } || _context.Response.HasStarted;
        }

        public IdempotencyRecordContent? CreateRecord(bool outcome)
        {
            var capture = _capture!; // set by RunAsync, which returned
            if (HoldsResponse && capture.Overflowed)
            {
                HeldResponseTooLarge = true;
                return null;
            }

            if (!_policy.ShouldStoreResponse(new IdempotencyOutcomeArguments(_context)))
            {
                return null;
            }

            if (capture.Overflowed)
            {
                LogResponseTooLargeToStore(_middleware._logger, capture.BytesWritten, _policy.MaxStoredBodySize, _middleware._engine.HashKey(_feature.Key));
            }
            else if (DeclaredLengthNotWritten(_context.Response.StatusCode, capture) is { } declared)
            {
                // A stream or file result whose client went away stops writing and returns as if done; so does a handler
                // that declared more than it wrote. Stored, the body would fail the same way on every retry. The
                // engine completes the key as "outcome unknown" (the work ran) or, held for a commit, rolls it back.
                throw new InvalidOperationException(
                    $"The response declared Content-Length {declared} but {capture.BytesWritten} bytes were written: it cannot be replayed as it was meant.");
            }

            return StoredResponseFormat.Content(CaptureResponse(_context.Response, capture));
        }

        // The outcome the engine counted (executed, released, outcome unknown, ...) goes on the request's own telemetry too.
        public void OnOutcomeRecorded(string outcome) => TagRequest(_context, outcome);

        /// <summary>The version 1 fingerprint: records written by releases before version 2 hold it.</summary>
        public ValueTask<byte[]?> ComputePreviousFingerprintAsync(CancellationToken cancellationToken) => ComputeV1FingerprintAsync(_context, _endpoint);

        // Once: every feature set makes the request's cached features stale, so a second would cost every later access.
        public void RestoreResponseBody()
        {
            if (_originalBody is not null)
            {
                FeatureAccess.Set(_context.Features, _originalBody);
                _originalBody = null;
            }
        }

        public async Task SendHeldResponseAsync()
        {
            if (_capture is not { Captured: var body })
            {
                return;
            }

            if (HoldsResponse && body.Length > 0)
            {
                await _context.Response.Body.WriteAsync(body, _context.RequestAborted);
            }
        }

        public void Dispose() => _capture?.ReturnBuffer();

        // The Content-Length stored with the body when the body written differs from it; statuses without a body (1xx,
        // 204, 304) are not checked. The stored headers, not the response's: outer middleware may have changed those.
        private static long? DeclaredLengthNotWritten(int statusCode, ResponseCaptureStream capture)
        {
            if (statusCode is < StatusCodes.Status200OK or StatusCodes.Status204NoContent or StatusCodes.Status304NotModified)
            {
                return null;
            }

            var headers = capture.Headers;
            for (var i = 0; i < headers.Count; i++)
            {
                if (string.Equals(headers[i].Key, HeaderNames.ContentLength, StringComparison.OrdinalIgnoreCase)
                    && long.TryParse(headers[i].Value.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var declared))
                {
                    return declared == capture.BytesWritten ? null : declared;
                }
            }

            return null;
        }

        // The headers as the handler left them, copied before anything reached the middleware outside: never the handler's
        // body with headers that outer middleware (response compression) changed for its own, transformed bytes. The status
        // is the one the outcome was judged by (outer middleware changes headers as the bytes reach it, not the status).
        private static StoredResponse CaptureResponse(HttpResponse response, ResponseCaptureStream capture) =>
            capture.Overflowed
                ? new StoredResponse(response.StatusCode, capture.Headers, ReadOnlyMemory<byte>.Empty, bodyOmitted: true)
                : new StoredResponse(response.StatusCode, capture.Headers, capture.Captured);
    }
}
