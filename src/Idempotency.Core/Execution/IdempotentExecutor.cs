using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Options;

namespace Idempotency;

/// <summary>
/// Runs an operation at most once per key, for callers that are not HTTP endpoints (message handlers, background
/// jobs): the first execution's result is stored and every later call with the same key receives it.
/// </summary>
/// <remarks>
/// Exceptions are not stored: the claim is released and the exception propagates, so a later delivery runs the
/// operation again. Only a returned result is final.
/// </remarks>
public sealed class IdempotentExecutor
{
    private readonly IIdempotencyStore _store;
    private readonly IdempotentExecutorOptions _options;

    /// <summary>Initializes an executor over <paramref name="store"/>.</summary>
    /// <param name="store">Where claims and results are kept.</param>
    /// <param name="options">Lease and retention.</param>
    public IdempotentExecutor(IIdempotencyStore store, IOptions<IdempotentExecutorOptions> options)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        _store = store;
        _options = options.Value;
    }

    /// <summary>Runs <paramref name="operation"/> unless an execution with the same key has completed, whose result is then returned.</summary>
    /// <typeparam name="TResult">The result type, serialized with <paramref name="resultType"/> to be stored.</typeparam>
    /// <param name="request">The key, scope and payload of the operation.</param>
    /// <param name="operation">The operation to run at most once.</param>
    /// <param name="resultType">The JSON contract of the result (from a source-generated <c>JsonSerializerContext</c>).</param>
    /// <param name="cancellationToken">Cancels the store calls and is passed to the operation.</param>
    /// <returns>The result, and whether it was replayed.</returns>
    /// <exception cref="IdempotentOperationInFlightException">Another execution with the same key is still running.</exception>
    /// <exception cref="IdempotencyKeyReusedException">The key was used with a different payload.</exception>
    /// <exception cref="IdempotencyStoreException">The store could not be reached; the operation did not run.</exception>
    /// <exception cref="IdempotencyScopeQuotaExceededException">
    /// The operation's scope holds its full share of the store; the operation did not run. Retry after its
    /// <see cref="IdempotencyScopeQuotaExceededException.RetryAfter"/>.
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

        var key = IdempotencyStorageKey.Create(request.Scope, request.Key);
        var fingerprint = RequestFingerprintBuilder.Compute(request.Payload.Span);
        var ownerToken = OwnerTokens.Create();
        var claim = await _store.ClaimAsync(new IdempotencyClaimRequest(key, fingerprint, ownerToken, _options.LeaseDuration, request.Scope), cancellationToken);
        switch (claim.Status)
        {
            case ClaimStatus.Completed:
                var stored = StoredPayloadFormat.DecodeOperationResult(claim.Payload.Span);
                return new(JsonSerializer.Deserialize(stored, resultType)!, IsReplay: true);
            case ClaimStatus.InFlight:
                throw new IdempotentOperationInFlightException(claim.LeaseRemaining);
            case ClaimStatus.FingerprintMismatch:
                throw new IdempotencyKeyReusedException();
        }

        TResult result;
        try
        {
            result = await operation(cancellationToken);
        }
        catch
        {
            // Let a later delivery run it; CancellationToken.None so a cancelled caller still frees the key.
            await _store.ReleaseAsync(key, ownerToken, CancellationToken.None);
            throw;
        }

        var payload = StoredPayloadFormat.EncodeOperationResult(JsonSerializer.SerializeToUtf8Bytes(result, resultType));
        await _store.CompleteAsync(new IdempotencyCompleteRequest(key, ownerToken, payload, _options.Retention), CancellationToken.None);
        return new(result, IsReplay: false);
    }
}
