namespace Idempotency;

/// <summary>The answer of <see cref="IIdempotencyStore.ClaimAsync"/>.</summary>
public sealed class IdempotencyClaimResult
{
    private static readonly IdempotencyClaimResult s_fingerprintMismatch = new(ClaimStatus.FingerprintMismatch, default, default, default);

    private IdempotencyClaimResult(ClaimStatus status, DateTimeOffset leaseExpiresAt, TimeSpan leaseRemaining, ReadOnlyMemory<byte> payload)
    {
        Status = status;
        LeaseExpiresAt = leaseExpiresAt;
        LeaseRemaining = leaseRemaining;
        Payload = payload;
    }

    /// <summary>Gets what the store found.</summary>
    public ClaimStatus Status { get; }

    /// <summary>Gets, for <see cref="ClaimStatus.Claimed"/>, when the new lease ends by the store's clock.</summary>
    public DateTimeOffset LeaseExpiresAt { get; }

    /// <summary>Gets, for <see cref="ClaimStatus.InFlight"/>, how long until the other owner's lease ends.</summary>
    public TimeSpan LeaseRemaining { get; }

    /// <summary>Gets, for <see cref="ClaimStatus.Completed"/>, the stored payload.</summary>
    public ReadOnlyMemory<byte> Payload { get; }

    /// <summary>The caller owns the key until <paramref name="leaseExpiresAt"/>.</summary>
    /// <param name="leaseExpiresAt">When the lease ends by the store's clock.</param>
    /// <returns>A <see cref="ClaimStatus.Claimed"/> result.</returns>
    public static IdempotencyClaimResult Claimed(DateTimeOffset leaseExpiresAt) => new(ClaimStatus.Claimed, leaseExpiresAt, default, default);

    /// <summary>Another owner holds the key for <paramref name="leaseRemaining"/> more.</summary>
    /// <param name="leaseRemaining">How long until that lease ends; negative values are treated as zero.</param>
    /// <returns>A <see cref="ClaimStatus.InFlight"/> result.</returns>
    public static IdempotencyClaimResult InFlight(TimeSpan leaseRemaining) =>
        new(ClaimStatus.InFlight, default, leaseRemaining < TimeSpan.Zero ? TimeSpan.Zero : leaseRemaining, default);

    /// <summary>The key has completed with <paramref name="payload"/>.</summary>
    /// <param name="payload">The payload stored by <see cref="IIdempotencyStore.CompleteAsync"/>.</param>
    /// <returns>A <see cref="ClaimStatus.Completed"/> result.</returns>
    public static IdempotencyClaimResult Completed(ReadOnlyMemory<byte> payload) => new(ClaimStatus.Completed, default, default, payload);

    /// <summary>The key belongs to a request with another fingerprint.</summary>
    /// <returns>A <see cref="ClaimStatus.FingerprintMismatch"/> result.</returns>
    public static IdempotencyClaimResult FingerprintMismatch() => s_fingerprintMismatch;
}
