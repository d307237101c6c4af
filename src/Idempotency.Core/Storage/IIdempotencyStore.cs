namespace Idempotency;

/// <summary>
/// Persists idempotency records: one per scoped key, each either in flight (claimed under a lease)
/// or completed (holding the stored outcome until its retention ends).
/// </summary>
/// <remarks>
/// <para>
/// Every operation must be atomic and must be implementable as one round trip to the backing store
/// (one Lua script in Redis, one SQL statement in PostgreSQL). Never implement a claim as a read followed
/// by a write: two concurrent claimers would both see "absent" and both execute.
/// </para>
/// <para>
/// Implementations report infrastructure faults (connection refused, timeouts) by throwing
/// <see cref="IdempotencyStoreException"/> or any other exception; callers then refuse to run the
/// operation unprotected. Run <c>Idempotency.Stores.Conformance</c> against a new implementation.
/// </para>
/// </remarks>
public interface IIdempotencyStore
{
    /// <summary>
    /// Atomically claims <see cref="IdempotencyClaimRequest.Key"/> for its owner, unless a live claim or a
    /// completed record already holds it. A record whose lease has expired is claimed anew.
    /// </summary>
    /// <param name="request">The key, its request fingerprint, the owner token and the lease to take.</param>
    /// <param name="cancellationToken">Cancels the store call.</param>
    /// <returns>
    /// <see cref="ClaimStatus.Claimed"/> when the caller now owns the key;
    /// <see cref="ClaimStatus.InFlight"/> when another owner holds a live lease;
    /// <see cref="ClaimStatus.Completed"/> with the stored payload when the key has completed;
    /// <see cref="ClaimStatus.FingerprintMismatch"/> when the key is held or completed for a different fingerprint.
    /// </returns>
    ValueTask<IdempotencyClaimResult> ClaimAsync(IdempotencyClaimRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// Stores the outcome of a claimed key and keeps it for the retention period. Only the owner of the claim
    /// may complete it.
    /// </summary>
    /// <param name="request">The key, the owner token, the encoded payload and the retention.</param>
    /// <param name="cancellationToken">Cancels the store call.</param>
    /// <returns>
    /// <see cref="CompletionStatus.Completed"/>, or <see cref="CompletionStatus.ClaimLost"/> when the claim is no
    /// longer held by this owner (its lease expired and another request claimed the key, or it was released).
    /// </returns>
    ValueTask<CompletionStatus> CompleteAsync(IdempotencyCompleteRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes an in-flight claim so that a retry can run. Only the owner of the claim may release it; a completed
    /// record is never released.
    /// </summary>
    /// <param name="key">The scoped storage key that was claimed.</param>
    /// <param name="ownerToken">The owner token given in the claim.</param>
    /// <param name="cancellationToken">Cancels the store call.</param>
    /// <returns><see langword="true"/> when the claim was released; <see langword="false"/> when this owner no longer held it.</returns>
    ValueTask<bool> ReleaseAsync(string key, string ownerToken, CancellationToken cancellationToken);
}
