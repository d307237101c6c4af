namespace Idempotency;

/// <summary>The arguments of <see cref="IIdempotencyStore.ClaimAsync"/>.</summary>
public sealed class IdempotencyClaimRequest
{
    /// <summary>Initializes a claim request.</summary>
    /// <param name="key">The scoped storage key (see <see cref="IdempotencyStorageKey"/>).</param>
    /// <param name="fingerprint">The request fingerprint that every later use of the key must match (SHA-256, 32 bytes).</param>
    /// <param name="ownerToken">An unguessable token that identifies this claimer; only it may complete or release the claim.</param>
    /// <param name="leaseDuration">How long the claim protects the key before another request may take it over.</param>
    public IdempotencyClaimRequest(string key, ReadOnlyMemory<byte> fingerprint, string ownerToken, TimeSpan leaseDuration)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentException.ThrowIfNullOrEmpty(ownerToken);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(leaseDuration, TimeSpan.Zero);
        Key = key;
        Fingerprint = fingerprint;
        OwnerToken = ownerToken;
        LeaseDuration = leaseDuration;
    }

    /// <summary>Gets the scoped storage key.</summary>
    public string Key { get; }

    /// <summary>Gets the request fingerprint. A store may keep this memory rather than copy it: callers must not change it afterwards.</summary>
    public ReadOnlyMemory<byte> Fingerprint { get; }

    /// <summary>Gets the owner token of the claimer.</summary>
    public string OwnerToken { get; }

    /// <summary>Gets the lease to take when the key is claimed.</summary>
    public TimeSpan LeaseDuration { get; }
}
