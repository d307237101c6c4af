using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Idempotency.Grpc.Client;

/// <summary>
/// Gives each unary call that has no <c>idempotency-key</c> metadata entry a new key (a random GUID). The interceptor
/// runs once per call, above the gRPC client's retries and hedging (<c>RetryPolicy</c>, <c>HedgingPolicy</c> in the
/// channel's service config), so every attempt of a call carries the same key and the server runs it at most once.
/// A key the caller set is kept: set one yourself when an operation spans several calls (a retry after a restart).
/// </summary>
/// <example><code>var invoker = channel.Intercept(new IdempotencyKeyInterceptor());</code></example>
public sealed class IdempotencyKeyInterceptor : Interceptor
{
    private const string KeyName = "idempotency-key";

    /// <inheritdoc />
    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context, AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        return continuation(request, WithKey(context));
    }

    /// <inheritdoc />
    public override TResponse BlockingUnaryCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context, BlockingUnaryCallContinuation<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        return continuation(request, WithKey(context));
    }

    private static ClientInterceptorContext<TRequest, TResponse> WithKey<TRequest, TResponse>(ClientInterceptorContext<TRequest, TResponse> context)
        where TRequest : class
        where TResponse : class
    {
        var headers = context.Options.Headers;
        if (headers?.Get(KeyName) is not null)
        {
            return context;
        }

        // A copy: the caller's Metadata may be shared by several calls, each of which needs its own key.
        var withKey = new Metadata();
        if (headers is not null)
        {
            foreach (var entry in headers)
            {
                withKey.Add(entry);
            }
        }

        // Quoted, as the header's Structured Field string: a server with StrictKeyParsing refuses a bare key.
        withKey.Add(KeyName, "\"" + Guid.NewGuid().ToString("N") + "\"");
        return new ClientInterceptorContext<TRequest, TResponse>(context.Method, context.Host, context.Options.WithHeaders(withKey));
    }
}
