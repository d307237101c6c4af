namespace Idempotency;

/// <summary>The arguments of <see cref="IIdempotencyStore.CompleteAsync"/>.</summary>
public sealed class IdempotencyCompleteRequest
{
    /// <summary>Initializes a completion request.</summary>
    /// <param name="key">The scoped storage key that was claimed.</param>
    /// <param name="ownerToken">The owner token given in the claim.</param>
    /// <param name="payload">The encoded outcome to replay to later requests with the same key.</param>
    /// <param name="retention">How long the completed record is kept, counted from completion.</param>
    public IdempotencyCompleteRequest(string key, string ownerToken, ReadOnlyMemory<byte> payload, TimeSpan retention)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentException.ThrowIfNullOrEmpty(ownerToken);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(retention, TimeSpan.Zero);
        Key = key;
        OwnerToken = ownerToken;
        Payload = payload;
        Retention = retention;
    }

    /// <summary>Gets the scoped storage key.</summary>
    public string Key { get; }

    /// <summary>Gets the owner token of the claimer.</summary>
    public string OwnerToken { get; }

    /// <summary>
    /// Gets the encoded outcome, opaque to the store. A store may keep this memory rather than copy it: callers must not
    /// change it afterwards.
    /// </summary>
    public ReadOnlyMemory<byte> Payload { get; }

    /// <summary>Gets how long the completed record is kept.</summary>
    public TimeSpan Retention { get; }

    /// <summary>
    /// Gets when the claim's lease ends, as the store reported it when it granted the claim
    /// (<see cref="IdempotencyClaimResult.LeaseExpiresAt"/>), or <see langword="null"/> when the caller does not say.
    /// Until then no other request can claim the key, so a store whose completion did not get through (a fail-over, a
    /// dropped connection) may keep sending it again until this moment: once the lease ends, a retry may run the work
    /// again. The idempotency engine always sets it.
    /// </summary>
    /// <value>The default is <see langword="null"/>: a store then decides alone how long to keep trying.</value>
    public DateTimeOffset? LeaseExpiresAt { get; init; }
}
