using Grpc.Core;

namespace Idempotency.Grpc.AspNetCore;

/// <summary>
/// The call context the handler sees under a claimed key: the call's own, except that the response headers the handler
/// writes are kept, so that a replay sends the same ones. Everything else is the original context's.
/// </summary>
internal sealed class CapturingServerCallContext : ServerCallContext
{
    // Grpc.AspNetCore's GetHttpContext() finds the HttpContext of a wrapping context under this UserState key.
    private const string HttpContextKey = "__HttpContext";

    private readonly ServerCallContext _inner;

    public CapturingServerCallContext(ServerCallContext inner, Microsoft.AspNetCore.Http.HttpContext httpContext)
    {
        _inner = inner;
        inner.UserState[HttpContextKey] = httpContext;
    }

    /// <summary>Gets the response headers the handler wrote, or <see langword="null"/> when it wrote none itself.</summary>
    public Metadata? WrittenHeaders { get; private set; }

    protected override string MethodCore => _inner.Method;

    protected override string HostCore => _inner.Host;

    protected override string PeerCore => _inner.Peer;

    protected override DateTime DeadlineCore => _inner.Deadline;

    protected override Metadata RequestHeadersCore => _inner.RequestHeaders;

    protected override CancellationToken CancellationTokenCore => _inner.CancellationToken;

    protected override Metadata ResponseTrailersCore => _inner.ResponseTrailers;

    protected override Status StatusCore
    {
        get => _inner.Status;
        set => _inner.Status = value;
    }

    protected override WriteOptions? WriteOptionsCore
    {
        get => _inner.WriteOptions;
        set => _inner.WriteOptions = value;
    }

    protected override AuthContext AuthContextCore => _inner.AuthContext;

    protected override IDictionary<object, object> UserStateCore => _inner.UserState;

    protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) => _inner.CreatePropagationToken(options);

    protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders)
    {
        // Copied before they are sent: the same instance could be changed by the handler afterwards. Kept only once the
        // call has taken them: Grpc.AspNetCore refuses a second write (headers go out once), and a handler that carries
        // on after that refusal must not have a replay send headers its client never received.
        var copy = new Metadata();
        foreach (var entry in responseHeaders)
        {
            copy.Add(entry);
        }

        var write = _inner.WriteResponseHeadersAsync(responseHeaders);
        WrittenHeaders ??= copy;
        return write;
    }
}
