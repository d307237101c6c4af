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
/// <b>Leases and their grace period.</b> Once a claim's lease has ended, any request may claim the key anew. Until
/// one does, the claim's owner may still complete or release it, for at least the store's lease grace period after
/// the lease ended: an operation that overran its lease is then recorded instead of being run again by the next
/// retry. After the grace period a store may forget the claim, and a late completion reports
/// <see cref="CompletionStatus.ClaimLost"/>. The store's own housekeeping (expiry, cleanup) must honour the grace too.
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
    /// Gets the store's name in telemetry: the <c>store</c> tag of <c>idempotency.store.duration</c> and of the store's
    /// own instruments. A short, fixed, lowercase name (<c>inmemory</c>, <c>redis</c>, <c>postgresql</c>), the same in
    /// every release, so that dashboards keep working.
    /// </summary>
    /// <value>The default is <c>custom</c>.</value>
    string Name => "custom";

    /// <summary>
    /// Atomically claims <see cref="IdempotencyClaimRequest.Key"/> for its owner, unless a live claim or a
    /// completed record already holds it. A record whose lease has expired is claimed anew.
    /// </summary>
    /// <remarks>
    /// A bounded store that cannot make room throws <see cref="IdempotencyStoreCapacityExceededException"/>; one that
    /// bounds each scope's share throws <see cref="IdempotencyScopeQuotaExceededException"/> when the claim's
    /// <see cref="IdempotencyClaimRequest.Scope"/> holds its share.
    /// </remarks>
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
    /// may complete it. An owner whose lease has ended may still complete as long as no other request has claimed the
    /// key since, for at least the store's lease grace period after the lease ended. A store may send a completion
    /// again when the first did not get through or its answer was lost, while the claim's lease runs
    /// (<see cref="IdempotencyCompleteRequest.LeaseExpiresAt"/>): one that finds the record completed with exactly
    /// its payload may report <see cref="CompletionStatus.Completed"/>; any other completion of a completed record
    /// reports <see cref="CompletionStatus.ClaimLost"/> and changes nothing.
    /// </summary>
    /// <param name="request">The key, the owner token, the encoded payload and the retention.</param>
    /// <param name="cancellationToken">Cancels the store call.</param>
    /// <returns>
    /// <see cref="CompletionStatus.Completed"/>, or <see cref="CompletionStatus.ClaimLost"/> when the claim is no
    /// longer held by this owner (its lease expired and another request claimed the key, it was released, or the
    /// grace period after its lease has passed and the store forgot it).
    /// </returns>
    ValueTask<CompletionStatus> CompleteAsync(IdempotencyCompleteRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes an in-flight claim so that a retry can run. Only the owner of the claim may release it; a completed
    /// record is never released. Like completion, release remains possible after the lease ended, as long as no other
    /// request has claimed the key since, for at least the store's lease grace period.
    /// </summary>
    /// <param name="key">The scoped storage key that was claimed.</param>
    /// <param name="ownerToken">The owner token given in the claim.</param>
    /// <param name="cancellationToken">Cancels the store call.</param>
    /// <returns><see langword="true"/> when the claim was released; <see langword="false"/> when this owner no longer held it.</returns>
    ValueTask<bool> ReleaseAsync(string key, string ownerToken, CancellationToken cancellationToken);
}
