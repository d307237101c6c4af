namespace Idempotency;

/// <summary>Everything <see cref="IdempotencyEngine.ExecuteAsync"/> needs to know about one keyed operation; the adapter fills it in.</summary>
public sealed class IdempotencyExecutionRequest
{
    /// <summary>Initializes a request.</summary>
    /// <param name="store">
    /// Where the key is claimed and its outcome kept. An <see cref="IIdempotencyUnitOfWorkStore"/> commits the outcome
    /// with the work's own changes; the engine then treats a failed completion as "nothing happened".
    /// </param>
    /// <param name="key">The idempotency key as the caller sent it (for Debug logs and audit hashes; never logged above Debug).</param>
    /// <param name="scope">Whose key it is (a user, a tenant); keys of different scopes never collide.</param>
    /// <param name="storageKey">The key under which the store keeps the record: usually <see cref="IdempotencyStorageKey.Create"/> of the scope and key.</param>
    /// <param name="fingerprint">What makes two operations with the same key the same operation (SHA-256 of the request).</param>
    public IdempotencyExecutionRequest(IIdempotencyStore store, string key, string scope, string storageKey, ReadOnlyMemory<byte> fingerprint)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(scope);
        ArgumentNullException.ThrowIfNull(storageKey);
        Store = store;
        Key = key;
        Scope = scope;
        StorageKey = storageKey;
        Fingerprint = fingerprint;
    }

    /// <summary>Gets the store.</summary>
    public IIdempotencyStore Store { get; }

    /// <summary>Gets the idempotency key as the caller sent it.</summary>
    public string Key { get; }

    /// <summary>Gets whose key it is.</summary>
    public string Scope { get; }

    /// <summary>Gets the key under which the store keeps the record.</summary>
    public string StorageKey { get; }

    /// <summary>Gets the operation's fingerprint.</summary>
    public ReadOnlyMemory<byte> Fingerprint { get; }

    /// <summary>Gets or sets how long the claim protects the key while the work runs.</summary>
    /// <value>The default is 1 minute.</value>
    public TimeSpan LeaseDuration { get; init; } = IdempotencyDefaults.LeaseDuration;

    /// <summary>Gets or sets how long a completed outcome is kept and replayed.</summary>
    /// <value>The default is 24 hours.</value>
    public TimeSpan Retention { get; init; } = IdempotencyDefaults.Retention;

    /// <summary>
    /// Gets or sets how long to wait for an in-flight duplicate to finish (polling the store with back-off) before
    /// answering <see cref="IdempotencyExecutionStatus.InFlight"/>.
    /// </summary>
    /// <value>The default is <see cref="TimeSpan.Zero"/>: answer at once.</value>
    public TimeSpan InFlightWait { get; init; }

    /// <summary>
    /// Gets or sets the name of the operation in audit events: a route template, a gRPC method, a message type. Never
    /// a raw path, which can hold ids.
    /// </summary>
    /// <value>The default is the empty string.</value>
    public string OperationName { get; init; } = string.Empty;

    /// <summary>Gets or sets the trace id in audit events, when there is no current <see cref="System.Diagnostics.Activity"/>.</summary>
    /// <value>The default is <see langword="null"/>: the current activity's trace id, or none.</value>
    public string? TraceId { get; init; }
}
