using System.Runtime.ExceptionServices;
using Grpc.Core;

namespace Idempotency.Grpc.AspNetCore;

internal sealed partial class GrpcIdempotencyInterceptor
{
    /// <summary>
    /// Whether a status is transient, so the key is released and a retry runs the call again: the gRPC equivalents of
    /// the HTTP statuses the middleware releases (5xx, 408, 429), and CANCELLED. Every other status is final and stored.
    /// </summary>
    internal static bool IsTransient(StatusCode code) => code is StatusCode.Cancelled or StatusCode.Unknown or StatusCode.DeadlineExceeded
        or StatusCode.ResourceExhausted or StatusCode.Aborted or StatusCode.Unimplemented or StatusCode.Internal or StatusCode.Unavailable
        or StatusCode.DataLoss;

    /// <summary>What the handler did: returned a response, or failed with a status.</summary>
    private sealed class CallOutcome<TResponse>(TResponse? response, ExceptionDispatchInfo? failure)
    {
        public TResponse? Response { get; } = response;

        public ExceptionDispatchInfo? Failure { get; } = failure;

        /// <summary>Returns the response, or rethrows the handler's <see cref="RpcException"/> unchanged.</summary>
        public TResponse Deliver()
        {
            Failure?.Throw();
            return Response!;
        }
    }

    /// <summary>
    /// The handler as the engine's work. An <see cref="RpcException"/> is an outcome (a status the client receives), not a
    /// failure of the work: it is caught so that a final status is stored and a transient one releases the key. Any other
    /// exception propagates through the engine, which releases the key; the client then gets UNKNOWN, as without this.
    /// A final outcome whose record would be larger than <paramref name="maxStoredSize"/> completes the key with its
    /// status code alone (<paramref name="onTooLarge"/> is told its size), as the HTTP middleware does with a response
    /// body over <c>MaxStoredBodySize</c>.
    /// </summary>
    private sealed class CallWork<TRequest, TResponse>(
        TRequest request,
        CapturingServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation,
        Marshaller<TResponse> responseMarshaller,
        int maxStoredSize,
        Action<long> onTooLarge)
        : IIdempotentWork<CallOutcome<TResponse>>
        where TRequest : class
        where TResponse : class
    {
        // Trailers already set when the handler starts (by an application interceptor outside this one) are that
        // interceptor's: it sets them again on a replay, so the record must not hold a second copy.
        private Metadata.Entry[] _trailersBefore = [];

        public async ValueTask<CallOutcome<TResponse>> RunAsync(CancellationToken cancellationToken)
        {
            _trailersBefore = [.. context.ResponseTrailers];
            try
            {
                return new(await continuation(request, context).ConfigureAwait(false), null);
            }
            catch (RpcException ex)
            {
                return new(null, ExceptionDispatchInfo.Capture(ex));
            }
        }

        // Response headers alone carry no outcome: a handler that fails after sending them is released like any other.
        public bool HasDeliveryStarted(out int startedStatus)
        {
            startedStatus = 0;
            return false;
        }

        public IdempotencyRecordContent? CreateRecord(CallOutcome<TResponse> outcome)
        {
            var exception = (RpcException?)outcome.Failure?.SourceException;
            var status = exception?.Status ?? context.Status;
            if (IsTransient(status.StatusCode))
            {
                return null;
            }

            // The client receives the context's trailers and, after them, the exception's.
            var trailers = new Metadata();
            foreach (var entry in context.ResponseTrailers)
            {
                if (!Array.Exists(_trailersBefore, before => ReferenceEquals(before, entry)))
                {
                    trailers.Add(entry);
                }
            }

            if (exception is not null)
            {
                foreach (var entry in exception.Trailers)
                {
                    trailers.Add(entry);
                }
            }

            // Everything the record would hold counts, the status detail and metadata as much as the message: each is
            // the handler's to make as large as it likes, and the store would keep it for every key.
            var message = exception is null ? MessageCodec.Serialize(responseMarshaller, outcome.Response!) : null;
            var response = new StoredGrpcResponse(status, message, context.WrittenHeaders ?? [], trailers);
            var length = GrpcResponseFormat.EncodedLength(response);
            if (length > maxStoredSize)
            {
                onTooLarge(length);
                return GrpcResponseFormat.OmittedContent(status.StatusCode);
            }

            return GrpcResponseFormat.Content(response);
        }
    }
}
