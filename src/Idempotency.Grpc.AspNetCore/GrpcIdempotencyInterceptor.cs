using System.Globalization;
using System.Security.Claims;
using Grpc.AspNetCore.Server;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Idempotency.AspNetCore.Deduplication;
using Idempotency.AspNetCore.Mirroring;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Idempotency.Grpc.AspNetCore;

/// <summary>
/// The gRPC adapter of <see cref="IdempotencyEngine"/>: runs each keyed unary call to a method marked
/// <see cref="RequireIdempotentCallAttribute"/> once, stores its outcome (<see cref="GrpcResponseFormat"/>), and
/// replays it to every retry with the same key. Other calls pass straight through. A method whose endpoint carries an
/// <see cref="IIdempotencyRequestStoreProvider"/> (<c>.WithPostgreSqlTransaction()</c>) runs with the store it creates
/// for the call, as the HTTP middleware does: the record commits with the handler's own changes before the reply goes out.
/// </summary>
internal sealed partial class GrpcIdempotencyInterceptor : Interceptor
{
    // Every anonymous caller shares this scope, as with the HTTP middleware.
    private const string AnonymousScope = "";

    private readonly IdempotencyOptions _options;
    private readonly IIdempotencyStore _store;
    private readonly IdempotencyEngine _engine;
    private readonly ILogger _logger;

    public GrpcIdempotencyInterceptor(IOptions<IdempotencyOptions> options, IIdempotencyStore store, IdempotencyEngine engine, ILogger<GrpcIdempotencyInterceptor> logger)
    {
        _options = options.Value;
        _store = store;
        _engine = engine;
        _logger = logger;
    }

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        // The common case, a method without idempotency, costs one metadata lookup and no async state machine.
        var httpContext = context.GetHttpContext();
        var metadata = httpContext.GetEndpoint()?.Metadata;
        if (metadata?.GetMetadata<RequireIdempotentCallAttribute>() is null
            || metadata.GetMetadata<GrpcMethodMetadata>()?.Method is not Method<TRequest, TResponse> method)
        {
            return continuation(request, context);
        }

        return HandleAsync(request, context, httpContext, method, continuation);
    }

    private async Task<TResponse> HandleAsync<TRequest, TResponse>(
        TRequest request, ServerCallContext context, HttpContext httpContext, Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse> continuation)
        where TRequest : class
        where TResponse : class
    {
        var key = ReadKey(context, method.FullName, httpContext.TraceIdentifier);
        var scope = await ResolveScopeAsync(httpContext, method.FullName, key).ConfigureAwait(false);
        byte[] fingerprint;
        using (var builder = new RequestFingerprintBuilder())
        {
            builder.AppendField("grpc");
            builder.AppendField(method.FullName);
            builder.AppendBody(MessageCodec.Serialize(method.RequestMarshaller, request));
            fingerprint = builder.Finish();
        }

        // A mirrored copy on a canary (marked by the mirror guard) keeps its record apart from the original's, as over
        // HTTP: in a store shared with the primary it must never claim the original's key, or the real client's call
        // would be refused in flight or replayed the copy's response.
        var storageKey = MirroredCopyKeys.Apply(httpContext, IdempotencyStorageKey.Create(scope, key));

        // A store bound to the call's unit of work (the PostgreSQL transactional mode's endpoint metadata, as for HTTP)
        // commits the record with the handler's own changes, so the reply goes out only once both have committed.
        IIdempotencyUnitOfWorkStore? unitOfWork = null;
        if (httpContext.GetEndpoint()?.Metadata.GetMetadata<IIdempotencyRequestStoreProvider>() is { } storeProvider)
        {
            try
            {
                unitOfWork = await storeProvider.CreateStoreAsync(httpContext, context.CancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (!context.CancellationToken.IsCancellationRequested)
            {
                throw RefuseStoreUnavailable(method.FullName, key, scope, storageKey, httpContext.TraceIdentifier, ex);
            }
        }

        try
        {
            var executionRequest = new IdempotencyExecutionRequest(unitOfWork ?? _store, key, scope, storageKey, fingerprint)
            {
                LeaseDuration = _options.LeaseDuration,
                Retention = _options.ResponseRetention,
                InFlightWait = _options.InFlightDuplicates == InFlightDuplicateHandling.Wait ? _options.InFlightWaitTimeout : TimeSpan.Zero,
                OperationName = method.FullName,
                TraceId = httpContext.TraceIdentifier,
            };
            var work = new CallWork<TRequest, TResponse>(
                request,
                new CapturingServerCallContext(context, httpContext),
                continuation,
                method.ResponseMarshaller,
                _options.MaxStoredBodySize,
                length => LogResponseTooLargeToStore(_logger, method.FullName, length, _options.MaxStoredBodySize, _engine.HashKey(key)));
            var execution = await _engine.ExecuteAsync(executionRequest, work, context.CancellationToken).ConfigureAwait(false);
            switch (execution.Status)
            {
                case IdempotencyExecutionStatus.ClaimLost or IdempotencyExecutionStatus.CompletionFailed when unitOfWork is not null:
                    // Nothing was committed, the handler's work included: its outcome must not reach the client, which retries.
                    context.ResponseTrailers.Clear();
                    throw new RpcException(new Status(
                        StatusCode.Unavailable,
                        "The call's changes and its idempotency record could not be committed; nothing was applied. Retry the call."));
                case IdempotencyExecutionStatus.Executed or IdempotencyExecutionStatus.Released or IdempotencyExecutionStatus.ClaimLost
                    or IdempotencyExecutionStatus.CompletionFailed or IdempotencyExecutionStatus.OutcomeUnknown:
                    // The handler ran: its own outcome goes out, as it would without this interceptor.
                    return execution.Outcome!.Deliver();
                case IdempotencyExecutionStatus.Replayed:
                    return await ReplayAsync(context, method, executionRequest, execution.Record).ConfigureAwait(false);
                case IdempotencyExecutionStatus.RecordUnreadable:
                    throw RefuseUnreadable(executionRequest, execution.Fault!);
                case IdempotencyExecutionStatus.InFlight:
                    var retryAfter = TimeSpan.FromTicks(Math.Min(execution.RetryAfter.Ticks, IdempotencyDefaults.InFlightRetryAfter.Ticks));
                    throw new RpcException(
                        new Status(StatusCode.Aborted, "A call with the same idempotency key is still in progress; retry later."),
                        RetryTrailers(retryAfter));
                case IdempotencyExecutionStatus.FingerprintMismatch:
                    throw new RpcException(new Status(
                        StatusCode.FailedPrecondition,
                        "The idempotency key was already used with a different request message or method; use a new key for a new request."));
                case IdempotencyExecutionStatus.ScopeQuotaExceeded:
                    var quotaRetryAfter = execution.RetryAfter;
                    LogScopeQuotaExceeded(_logger, _engine.HashKey(key), quotaRetryAfter);
                    _engine.RecordOutcome(IdempotencyOutcome.Throttled, executionRequest);
                    throw new RpcException(
                        new Status(StatusCode.ResourceExhausted, "The caller holds its whole share of the idempotency store; retry later."),
                        RetryTrailers(quotaRetryAfter));
                default:
                    throw RefuseStoreUnavailable(method.FullName, key, scope, storageKey, httpContext.TraceIdentifier, execution.Fault!);
            }
        }
        finally
        {
            if (unitOfWork is not null)
            {
                await unitOfWork.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private RpcException RefuseStoreUnavailable(string methodName, string key, string scope, string storageKey, string traceId, Exception fault)
    {
        LogStoreUnavailable(_logger, _engine.HashKey(key), StoreFaultDescription.Describe(fault, storageKey));
        _engine.RecordOutcome(IdempotencyOutcome.StoreUnavailable, methodName, key, scope, traceId);
        return new RpcException(new Status(
            StatusCode.Unavailable,
            fault is IdempotencyStoreCapacityExceededException
                ? "The idempotency store is full; the call did not run. Retry later."
                : "The idempotency store is unavailable; the call did not run. Retry later."));
    }

    private async Task<TResponse> ReplayAsync<TRequest, TResponse>(
        ServerCallContext context, Method<TRequest, TResponse> method, IdempotencyExecutionRequest request, IdempotencyRecord record)
        where TRequest : class
        where TResponse : class
    {
        if (record.Kind == IdempotencyRecordKind.OutcomeUnknown)
        {
            LogReplayedOutcomeUnknown(_logger, request.Key);
            _engine.RecordOutcome(IdempotencyOutcome.OutcomeUnknown, request);
            await WriteReplayHeadersAsync(context, []).ConfigureAwait(false);
            throw new RpcException(new Status(
                StatusCode.Internal,
                "A call with this idempotency key ran before, but its outcome could not be recorded; it will not run again under this key."));
        }

        StoredGrpcResponse stored;
        TResponse? message;
        try
        {
            if (record.Kind != IdempotencyRecordKind.GrpcResponse)
            {
                throw new InvalidDataException($"The stored idempotency record holds {record.Kind}, not a gRPC response: the key was also used by another kind of caller.");
            }

            stored = GrpcResponseFormat.Read(record.Content);
            message = stored.Message is { } bytes ? MessageCodec.Deserialize(method.ResponseMarshaller, bytes) : null;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A corrupt record, or a message the method's marshaller cannot read (a changed message type, say).
            throw RefuseUnreadable(request, ex);
        }

        if (stored.IsOmitted)
        {
            LogReplayTooLarge(_logger, request.Key, stored.Status.StatusCode);
            _engine.RecordOutcome(IdempotencyOutcome.Replayed, request);
            await WriteReplayHeadersAsync(context, []).ConfigureAwait(false);
            throw new RpcException(new Status(
                StatusCode.FailedPrecondition,
                $"The call with this idempotency key has already been processed (status {StatusName(stored.Status.StatusCode)}), but its outcome was too large to store for replay. Do not resend it with a new key; read the resulting state instead."));
        }

        LogReplayed(_logger, request.Key, stored.Status.StatusCode);
        _engine.RecordOutcome(IdempotencyOutcome.Replayed, request);
        await WriteReplayHeadersAsync(context, stored.Headers).ConfigureAwait(false);
        foreach (var entry in stored.Trailers)
        {
            context.ResponseTrailers.Add(entry);
        }

        if (message is null)
        {
            // The stored trailers are already the call's: the exception adds none of its own.
            throw new RpcException(stored.Status);
        }

        context.Status = stored.Status;
        return message;
    }

    /// <summary>
    /// Sends a replay's response headers as the original call sent them: written (and flushed) when its handler wrote
    /// some, else left to go out with the response, so that an application interceptor outside this one can still send
    /// its own, on a replay as on the original. The <c>idempotent-replayed</c> marker goes with them. Nothing is written
    /// once the call has sent its headers (such an interceptor did, before the call): a call sends headers once, and
    /// the original could not send any of its own either.
    /// </summary>
    private static Task WriteReplayHeadersAsync(ServerCallContext context, Metadata storedHeaders)
    {
        var response = context.GetHttpContext().Response;
        if (response.HasStarted)
        {
            return Task.CompletedTask;
        }

        if (storedHeaders.Count == 0)
        {
            response.Headers.Append(GrpcIdempotencyMetadata.ReplayedName, "true");
            return Task.CompletedTask;
        }

        var headers = new Metadata();
        foreach (var entry in storedHeaders)
        {
            headers.Add(entry);
        }

        headers.Add(GrpcIdempotencyMetadata.ReplayedName, "true");
        return context.WriteResponseHeadersAsync(headers);
    }

    // The status code's name as gRPC documents it (NOT_FOUND, not NotFound), which is what its users search for.
    private static string StatusName(StatusCode code)
    {
        var name = code.ToString();
        var builder = new System.Text.StringBuilder(name.Length + 4);
        for (var i = 0; i < name.Length; i++)
        {
            if (i > 0 && char.IsUpper(name[i]) && char.IsLower(name[i - 1]))
            {
                builder.Append('_');
            }

            builder.Append(char.ToUpperInvariant(name[i]));
        }

        return builder.ToString();
    }

    private RpcException RefuseUnreadable(IdempotencyExecutionRequest request, Exception fault)
    {
        LogStoredResponseUnreadable(_logger, fault, _engine.HashKey(request.Key));
        _engine.RecordOutcome(IdempotencyOutcome.StoreUnavailable, request);
        return new RpcException(new Status(StatusCode.Unavailable, "The stored outcome of the call with this idempotency key cannot be read; the call did not run."));
    }

    private static Metadata RetryTrailers(TimeSpan retryAfter)
    {
        var seconds = Math.Max(1, (long)Math.Ceiling(retryAfter.TotalSeconds));
        return new Metadata
        {
            { GrpcIdempotencyMetadata.RetryAfterName, seconds.ToString(CultureInfo.InvariantCulture) },
            { GrpcIdempotencyMetadata.RetryPushbackName, (seconds * 1000).ToString(CultureInfo.InvariantCulture) },
        };
    }

    private string ReadKey(ServerCallContext context, string methodName, string traceId)
    {
        string? value = null;
        var count = 0;
        foreach (var entry in context.RequestHeaders)
        {
            if (!entry.IsBinary && string.Equals(entry.Key, GrpcIdempotencyMetadata.KeyName, StringComparison.Ordinal))
            {
                value = entry.Value;
                count++;
            }
        }

        if (count == 0)
        {
            LogKeyMissing(_logger, methodName);
            _engine.RecordOutcome(IdempotencyOutcome.Rejected, methodName, null, null, traceId);
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"This method requires an '{GrpcIdempotencyMetadata.KeyName}' metadata entry."));
        }

        string? key = null;
        var status = count > 1
            ? IdempotencyKeyParseStatus.Malformed
            : IdempotencyKeyParser.TryParse(value, _options.StrictKeyParsing, _options.MaxKeyLength, out key);
        if (status != IdempotencyKeyParseStatus.Valid)
        {
            var reason = count > 1 ? "repeated" : status.ToString();
            LogKeyRejected(_logger, methodName, reason);
            _engine.RecordOutcome(IdempotencyOutcome.Rejected, methodName, null, null, traceId);
            throw new RpcException(new Status(
                StatusCode.InvalidArgument,
                count > 1
                    ? $"The '{GrpcIdempotencyMetadata.KeyName}' metadata entry must be sent once."
                    : $"The '{GrpcIdempotencyMetadata.KeyName}' metadata entry is invalid ({reason}): it must be 1 to {_options.MaxKeyLength} visible ASCII characters."));
        }

        return key!;
    }

    /// <summary>
    /// The scope the key belongs to, resolved as the HTTP middleware resolves it: <see cref="IdempotencyOptions.ScopeResolver"/>,
    /// or the first of <see cref="IdempotencyOptions.ScopeClaimTypes"/> qualified by its issuer; anonymous callers share
    /// the empty scope. An authenticated caller without one is refused, never put in a shared scope.
    /// </summary>
    private async ValueTask<string> ResolveScopeAsync(HttpContext context, string methodName, string key)
    {
        var user = context.User;
        var authenticated = user.Identities.Any(static identity => identity.IsAuthenticated);
        var scope = _options.ScopeResolver is { } resolver
            ? await resolver(new IdempotencyScopeArguments(context)).ConfigureAwait(false)
            : authenticated ? DefaultScope(user) : null;
        if (!string.IsNullOrEmpty(scope))
        {
            return scope;
        }

        if (!authenticated)
        {
            return AnonymousScope;
        }

        LogScopeUnresolved(_logger, methodName, _options.ScopeResolver is null ? string.Join(", ", _options.ScopeClaimTypes) : "ScopeResolver");
        _engine.RecordOutcome(IdempotencyOutcome.Rejected, methodName, key, null, context.TraceIdentifier);
        throw new RpcException(new Status(StatusCode.Internal, "The server could not resolve the idempotency scope of the authenticated caller; the call did not run."));
    }

    // Shared with the HTTP middleware (IdempotencyScopeClaims.cs): authenticated identities only.
    private string? DefaultScope(ClaimsPrincipal user) => IdempotencyScopeClaims.DefaultScope(user, _options.ScopeClaimTypes);
}
