using System.Runtime.ExceptionServices;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Options;

namespace Idempotency;

/// <summary>
/// Runs an operation at most once per key, for callers that are not HTTP endpoints (message handlers, background
/// jobs): the first execution's result is stored and every later call with the same key receives it. An adapter of
/// <see cref="IdempotencyEngine"/>, with the same telemetry as the ASP.NET Core middleware.
/// </summary>
/// <remarks>
/// Exceptions are not stored: the claim is released and the exception propagates, so a later delivery runs the
/// operation again. Only a returned result is final. With <see cref="IdempotentOperation.UnitOfWork"/>, the key, the
/// operation's changes and its result commit together, or none of them does.
/// </remarks>
public sealed class IdempotentExecutor
{
    private readonly IdempotencyEngine _engine;
    private readonly IIdempotencyStore _store;
    private readonly IdempotentExecutorOptions _options;

    /// <summary>Initializes an executor over <paramref name="store"/>.</summary>
    /// <param name="engine">The engine that claims, runs and records.</param>
    /// <param name="store">Where claims and results are kept, unless an operation brings its own unit of work.</param>
    /// <param name="options">Lease and retention.</param>
    public IdempotentExecutor(IdempotencyEngine engine, IIdempotencyStore store, IOptions<IdempotentExecutorOptions> options)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        _engine = engine;
        _store = store;
        _options = options.Value;
    }

    /// <summary>Runs <paramref name="operation"/> unless an execution with the same key has completed, whose result is then returned.</summary>
    /// <typeparam name="TResult">The result type, serialized with <paramref name="resultType"/> to be stored.</typeparam>
    /// <param name="request">The key, scope and payload of the operation.</param>
    /// <param name="operation">The operation to run at most once.</param>
    /// <param name="resultType">The JSON contract of the result (from a source-generated <c>JsonSerializerContext</c>).</param>
    /// <param name="cancellationToken">Cancels the claim and is passed to the operation; never the recording of a result.</param>
    /// <returns>The result, and whether it was replayed.</returns>
    /// <exception cref="IdempotentOperationInFlightException">Another execution with the same key is still running.</exception>
    /// <exception cref="IdempotencyKeyReusedException">The key was used with a different payload.</exception>
    /// <exception cref="IdempotencyStoreException">
    /// The store could not be reached, and the operation did not run; or, with a unit of work, the commit failed and
    /// nothing of the operation was kept.
    /// </exception>
    /// <exception cref="IdempotencyScopeQuotaExceededException">
    /// The operation's scope holds its full share of the store; the operation did not run. Retry after its
    /// <see cref="IdempotencyScopeQuotaExceededException.RetryAfter"/>.
    /// </exception>
    /// <exception cref="IdempotentOperationOutcomeUnknownException">The operation ran before, but its result could not be recorded.</exception>
    /// <exception cref="IdempotentOperationResultMismatchException">
    /// The key was executed by an operation without a result, or with a result this <paramref name="resultType"/> cannot
    /// read (another type): nothing ran and nothing is replayed.
    /// </exception>
    public async ValueTask<IdempotentResult<TResult>> ExecuteAsync<TResult>(
        IdempotentOperation request,
        Func<CancellationToken, ValueTask<TResult>> operation,
        JsonTypeInfo<TResult> resultType,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(operation);
        ArgumentNullException.ThrowIfNull(resultType);

        var work = new ResultWork<TResult>(operation, resultType);
        var execution = await _engine.ExecuteAsync(CreateRequest(request), work, cancellationToken).ConfigureAwait(false);
        return RanAndKept(request, execution)
            ? new(execution.Outcome!, IsReplay: false)
            : new(ReplayedResult(request, execution, resultType), IsReplay: true);
    }

    /// <summary>Runs <paramref name="operation"/>, which has no result, unless an execution with the same key has completed.</summary>
    /// <param name="request">The key, scope and payload of the operation.</param>
    /// <param name="operation">The operation to run at most once.</param>
    /// <param name="cancellationToken">Cancels the claim and is passed to the operation; never the recording of its completion.</param>
    /// <returns>Whether the operation had already run.</returns>
    /// <exception cref="IdempotentOperationInFlightException">Another execution with the same key is still running.</exception>
    /// <exception cref="IdempotencyKeyReusedException">The key was used with a different payload.</exception>
    /// <exception cref="IdempotencyStoreException">
    /// The store could not be reached, and the operation did not run; or, with a unit of work, the commit failed and
    /// nothing of the operation was kept.
    /// </exception>
    /// <exception cref="IdempotencyScopeQuotaExceededException">The operation's scope holds its full share of the store; the operation did not run.</exception>
    /// <exception cref="IdempotentOperationOutcomeUnknownException">The operation ran before, but its result could not be recorded.</exception>
    /// <exception cref="IdempotentOperationResultMismatchException">
    /// The key was executed by an operation with a result (<see cref="ExecuteAsync{TResult}"/>): nothing ran.
    /// </exception>
    public async ValueTask<IdempotentResult> ExecuteAsync(IdempotentOperation request, Func<CancellationToken, Task> operation, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(operation);

        var execution = await _engine.ExecuteAsync(CreateRequest(request), new NoResultWork(operation), cancellationToken).ConfigureAwait(false);
        if (RanAndKept(request, execution))
        {
            return new(IsReplay: false);
        }

        if (!OperationResultCodec.Decode(ReplayedContent(request, execution).Span).IsEmpty)
        {
            throw ResultMismatch(
                request,
                "its record was written by an operation with a result (ExecuteAsync<TResult>), but this call runs an operation without a result");
        }

        _engine.RecordOutcome(IdempotencyOutcome.Replayed, request.Name, request.Key, request.Scope);
        return new(IsReplay: true);
    }

    /// <summary>
    /// The stored result, read as <typeparamref name="TResult"/>. A record without a result, or one whose JSON
    /// <paramref name="resultType"/> cannot read, was written by another operation under the same key: refused with
    /// <see cref="IdempotentOperationResultMismatchException"/> rather than System.Text.Json's exception.
    /// </summary>
    private TResult ReplayedResult<TResult>(IdempotentOperation request, IdempotencyExecution<TResult> execution, JsonTypeInfo<TResult> resultType)
    {
        var json = OperationResultCodec.Decode(ReplayedContent(request, execution).Span);
        if (json.IsEmpty)
        {
            throw ResultMismatch(
                request,
                $"its record was written by an operation without a result (ExecuteAsync without TResult), and holds no {resultType.Type.Name} to replay");
        }

        TResult result;
        try
        {
            result = JsonSerializer.Deserialize(json, resultType)!;
        }
        catch (JsonException)
        {
            // The JsonException is not kept: its message can quote the stored JSON (a property name, a dictionary key,
            // a character of a value), which is the operation's result and may hold personal data.
            throw ResultMismatch(request, $"its stored result, {DescribeJson(json)} of {json.Length} bytes, cannot be read as {resultType.Type.Name}");
        }

        _engine.RecordOutcome(IdempotencyOutcome.Replayed, request.Name, request.Key, request.Scope);
        return result;
    }

    private IdempotentOperationResultMismatchException ResultMismatch(IdempotentOperation request, string what)
    {
        _engine.RecordOutcome(IdempotencyOutcome.Mismatch, request.Name, request.Key, request.Scope);
        return new IdempotentOperationResultMismatchException(
            $"The idempotency key was already executed by an operation with a different result type: {what}. This call did not run its " +
            "operation, and no redelivery of it will while the record is kept. Two operations share the key, scope and payload (two " +
            "handlers of the same message, or a handler whose result type changed): give each operation its own scope, and dead-letter this message.");
    }

    // Only the kind of the first token: never any of the stored result itself.
    private static string DescribeJson(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        try
        {
            reader.Read();
        }
        catch (JsonException)
        {
            return "not valid JSON";
        }

        return reader.TokenType switch
        {
            JsonTokenType.StartObject => "a JSON object",
            JsonTokenType.StartArray => "a JSON array",
            JsonTokenType.String => "a JSON string",
            JsonTokenType.Number => "a JSON number",
            JsonTokenType.True or JsonTokenType.False => "a JSON boolean",
            JsonTokenType.Null => "JSON null",
            _ => "JSON",
        };
    }

    // A run whose record was not kept still happened, unless its unit of work held everything back: then nothing did.
    private static bool RanAndKept<TOutcome>(IdempotentOperation request, IdempotencyExecution<TOutcome> execution) =>
        execution.Ran
        && !(request.UnitOfWork is not null && execution.Status is IdempotencyExecutionStatus.ClaimLost or IdempotencyExecutionStatus.CompletionFailed);

    private IdempotencyExecutionRequest CreateRequest(IdempotentOperation request) =>
        new(request.UnitOfWork ?? _store, request.Key, request.Scope, IdempotencyStorageKey.Create(request.Scope, request.Key), RequestFingerprintBuilder.Compute(request.Payload.Span))
        {
            LeaseDuration = _options.LeaseDuration,
            Retention = _options.Retention,
            OperationName = request.Name,
        };

    /// <summary>The stored result of a replay (not yet counted); for every other way an execution that did not run can end, its exception.</summary>
    private ReadOnlyMemory<byte> ReplayedContent<TOutcome>(IdempotentOperation request, IdempotencyExecution<TOutcome> execution)
    {
        switch (execution.Status)
        {
            case IdempotencyExecutionStatus.Replayed:
                var record = execution.Record;
                if (record.Kind == IdempotencyRecordKind.OperationResult)
                {
                    // The caller counts the replay once it knows the result fits (ResultMismatch otherwise).
                    return record.Content;
                }

                _engine.RecordOutcome(IdempotencyOutcome.StoreUnavailable, request.Name, request.Key, request.Scope);
                if (record.Kind == IdempotencyRecordKind.OutcomeUnknown)
                {
                    throw new IdempotentOperationOutcomeUnknownException();
                }

                throw new InvalidDataException($"The stored idempotency record holds {record.Kind}, not an operation result: the same key was used by another kind of caller (an HTTP endpoint, say) and by an executor operation.");
            case IdempotencyExecutionStatus.InFlight:
                throw new IdempotentOperationInFlightException(execution.RetryAfter);
            case IdempotencyExecutionStatus.FingerprintMismatch:
                throw new IdempotencyKeyReusedException();
            case IdempotencyExecutionStatus.ClaimLost or IdempotencyExecutionStatus.CompletionFailed:
                // Only with a unit of work is a run that was not recorded reported as "nothing happened" (see RanAndKept).
                throw new IdempotencyStoreException(
                    "The operation's unit of work could not commit its result with the key, so nothing of the operation was kept; run it again.",
                    WithoutStorageKey(execution.Fault!, request));
            default:
                _engine.RecordOutcome(
                    execution.Status == IdempotencyExecutionStatus.ScopeQuotaExceeded ? IdempotencyOutcome.Throttled : IdempotencyOutcome.StoreUnavailable,
                    request.Name,
                    request.Key,
                    request.Scope);
                var fault = WithoutStorageKey(execution.Fault!, request);
                ExceptionDispatchInfo.Capture(fault).Throw();
                throw fault; // unreachable
        }
    }

    /// <summary>
    /// The store's exception, for the caller to see, unless it mentions the storage key: store clients put the key they
    /// were sending into their messages (StackExchange.Redis does so for timeouts), and the key holds the scope (a user
    /// id). The caller (a broker's consumer) logs what it catches at Error, where the engine never writes the raw key.
    /// Such a fault becomes an <see cref="IdempotencyStoreException"/> that tells the same chain of types and messages
    /// with the key cut out; the full exception is in the engine's Debug event StoreFaultDetail.
    /// </summary>
    private static Exception WithoutStorageKey(Exception fault, IdempotentOperation request)
    {
        var storageKey = IdempotencyStorageKey.Create(request.Scope, request.Key);
        for (var current = fault; current is not null; current = current.InnerException)
        {
            if (current.Message.Contains(storageKey, StringComparison.Ordinal))
            {
                return new IdempotencyStoreException(
                    StoreFaultDescription.Describe(fault, storageKey) + " (The full exception, with the storage key, is logged at Debug: event StoreFaultDetail.)");
            }
        }

        return fault;
    }

    private sealed class ResultWork<TResult>(Func<CancellationToken, ValueTask<TResult>> operation, JsonTypeInfo<TResult> resultType) : IIdempotentWork<TResult>
    {
        public ValueTask<TResult> RunAsync(CancellationToken cancellationToken) => operation(cancellationToken);

        public bool HasDeliveryStarted(out int startedStatus)
        {
            startedStatus = 0;
            return false;
        }

        public IdempotencyRecordContent CreateRecord(TResult outcome) => OperationResultCodec.Encode(outcome, resultType);
    }

    private sealed class NoResultWork(Func<CancellationToken, Task> operation) : IIdempotentWork<bool>
    {
        public async ValueTask<bool> RunAsync(CancellationToken cancellationToken)
        {
            await operation(cancellationToken).ConfigureAwait(false);
            return true;
        }

        public bool HasDeliveryStarted(out int startedStatus)
        {
            startedStatus = 0;
            return false;
        }

        public IdempotencyRecordContent CreateRecord(bool outcome) => OperationResultCodec.NoResult;
    }
}
