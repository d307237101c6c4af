namespace Idempotency;

/// <summary>The arguments of <see cref="IIdempotencyStore.ClaimAsync"/>.</summary>
public sealed class IdempotencyClaimRequest
{
    /// <summary>Initializes a claim request.</summary>
    /// <param name="key">The scoped storage key (see <see cref="IdempotencyStorageKey"/>).</param>
    /// <param name="fingerprint">The request fingerprint that every later use of the key must match (SHA-256, 32 bytes).</param>
    /// <param name="ownerToken">An unguessable token that identifies this claimer; only it may complete or release the claim.</param>
    /// <param name="leaseDuration">How long the claim protects the key before another request may take it over.</param>
    /// <param name="scope">
    /// Who the key belongs to (the scope <paramref name="key"/> was built from): the authenticated user, a tenant, a
    /// producer; empty for anonymous callers. A store may use it to share its capacity fairly between scopes.
    /// </param>
    public IdempotencyClaimRequest(string key, ReadOnlyMemory<byte> fingerprint, string ownerToken, TimeSpan leaseDuration, string scope = "")
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentException.ThrowIfNullOrEmpty(ownerToken);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(leaseDuration, TimeSpan.Zero);
        ArgumentNullException.ThrowIfNull(scope);
        Key = key;
        Fingerprint = fingerprint;
        OwnerToken = ownerToken;
        LeaseDuration = leaseDuration;
        Scope = scope;
    }

    /// <summary>Gets the scoped storage key.</summary>
    public string Key { get; }

    /// <summary>Gets the request fingerprint. A store may keep this memory rather than copy it: callers must not change it afterwards.</summary>
    public ReadOnlyMemory<byte> Fingerprint { get; }

    /// <summary>Gets the owner token of the claimer.</summary>
    public string OwnerToken { get; }

    /// <summary>Gets the lease to take when the key is claimed.</summary>
    public TimeSpan LeaseDuration { get; }

    /// <summary>
    /// Gets who the key belongs to; empty for anonymous callers. The key already includes it (records of different
    /// scopes never meet); stores that bound their capacity per scope count records by it.
    /// </summary>
    public string Scope { get; }
}
