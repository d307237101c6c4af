using Grpc.Core;

namespace Idempotency.Grpc.AspNetCore;

/// <summary>
/// A unary call's outcome as it is stored and replayed: the status, the response message's bytes (none when the call
/// failed), and the response headers and trailers the handler set.
/// </summary>
internal sealed class StoredGrpcResponse(Status status, byte[]? message, Metadata headers, Metadata trailers)
{
    /// <summary>Gets whether the outcome was too large to store, so that only its status code was kept.</summary>
    public bool IsOmitted { get; private init; }

    public Status Status { get; } = status;

    /// <summary>Gets the serialized response message, or <see langword="null"/> when the call ended without one.</summary>
    public byte[]? Message { get; } = message;

    public Metadata Headers { get; } = headers;

    public Metadata Trailers { get; } = trailers;

    /// <summary>An outcome too large to store, of which only the status code was kept.</summary>
    public static StoredGrpcResponse Omitted(StatusCode statusCode) => new(new Status(statusCode, string.Empty), null, [], []) { IsOmitted = true };
}
