using Grpc.Core;

namespace Idempotency.Grpc.AspNetCore;

/// <summary>
/// A unary call's outcome as it is stored and replayed: the status, the response message's bytes (none when the call
/// failed), and the response headers and trailers the handler set.
/// </summary>
internal sealed class StoredGrpcResponse(Status status, byte[]? message, Metadata headers, Metadata trailers)
{
    public Status Status { get; } = status;

    /// <summary>Gets the serialized response message, or <see langword="null"/> when the call ended without one.</summary>
    public byte[]? Message { get; } = message;

    public Metadata Headers { get; } = headers;

    public Metadata Trailers { get; } = trailers;
}
