namespace Idempotency.Grpc.AspNetCore;

/// <summary>The metadata entries of idempotent gRPC calls.</summary>
public static class GrpcIdempotencyMetadata
{
    /// <summary>The request metadata entry that carries the key, with the syntax of the <c>Idempotency-Key</c> header.</summary>
    public const string KeyName = "idempotency-key";

    /// <summary>The response header by which a replayed call is marked (<c>idempotent-replayed: true</c>).</summary>
    public const string ReplayedName = "idempotent-replayed";

    /// <summary>The trailer that says, in whole seconds, when to retry a call refused as in flight or throttled.</summary>
    public const string RetryAfterName = "retry-after";

    /// <summary>The trailer that gRPC clients' retry policies read as the delay before their next attempt, in milliseconds.</summary>
    public const string RetryPushbackName = "grpc-retry-pushback-ms";
}
