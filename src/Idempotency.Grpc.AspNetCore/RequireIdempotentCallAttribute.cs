namespace Idempotency.Grpc.AspNetCore;

/// <summary>
/// Requires an <c>idempotency-key</c> metadata entry on a unary gRPC method (or on every method of a service class):
/// each keyed call runs once, and every retry with the same key gets the same response message, headers, trailers and
/// status. A call without a valid key fails with <c>INVALID_ARGUMENT</c>. Takes effect with
/// <c>services.AddGrpc().AddIdempotency()</c>.
/// </summary>
/// <remarks>
/// Streaming methods cannot be deduplicated: a streaming method that carries this attribute (or whose service class
/// does) fails the host at start-up.
/// </remarks>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, AllowMultiple = false, Inherited = true)]
public sealed class RequireIdempotentCallAttribute : Attribute;
