namespace Idempotency;

/// <summary>What a stored idempotency record holds: the second byte of its envelope, written and checked by <see cref="IdempotencyEngine"/>.</summary>
/// <remarks>
/// Each adapter reads only its own kind, so a key used by two front ends (an HTTP endpoint and a message handler, say)
/// is refused instead of misread. A kind that a reader does not know is refused too: that is why "outcome unknown" is
/// a kind of its own and not a flag, so that an older reader never replays a partial outcome as if it were the outcome.
/// </remarks>
public enum IdempotencyRecordKind : byte
{
    /// <summary>An HTTP response (status, headers, body), written by the ASP.NET Core middleware.</summary>
    HttpResponse = 1,

    /// <summary>The serialized result of an operation run by <see cref="IdempotentExecutor"/>.</summary>
    OperationResult = 2,

    /// <summary>
    /// An operation that failed after part of its outcome may have reached the caller (an HTTP response had started):
    /// its effect is presumed applied, so it must never run again under the key. Written by the engine itself.
    /// </summary>
    OutcomeUnknown = 3,

    /// <summary>A gRPC unary call's response (message, headers, trailers, status).</summary>
    GrpcResponse = 4,
}
