using System.ComponentModel.DataAnnotations;

namespace Idempotency;

/// <summary>Bounds of the in-memory store, the default <see cref="IIdempotencyStore"/>.</summary>
/// <remarks>
/// The in-memory store lives in one process: it protects against retries that reach the same instance, and its
/// records are lost on restart. Use the Redis or PostgreSQL store when a service runs more than one instance.
/// </remarks>
public sealed class InMemoryIdempotencyStoreOptions
{
    /// <summary>Gets or sets the most records (in flight and completed) held at once.</summary>
    /// <value>The default is 100,000.</value>
    /// <remarks>What a new key does when the store is full is set by <see cref="WhenFull"/>.</remarks>
    [Range(1, int.MaxValue)]
    public int MaxEntries { get; set; } = IdempotencyDefaults.InMemoryMaxEntries;

    /// <summary>Gets or sets the most bytes of keys, fingerprints and stored payloads held at once.</summary>
    /// <value>The default is 256 MiB.</value>
    /// <remarks>
    /// What a new key does when the limit is reached is set by <see cref="WhenFull"/>. Completing a claim that is
    /// already in flight is never refused (its operation has already run), so the total can exceed the limit by the
    /// payloads of the claims in flight at that moment.
    /// </remarks>
    [Range(1, long.MaxValue)]
    public long MaxBytes { get; set; } = IdempotencyDefaults.InMemoryMaxBytes;

    /// <summary>Gets or sets what a new key does when the store holds <see cref="MaxEntries"/> records or <see cref="MaxBytes"/> bytes.</summary>
    /// <value>The default is <see cref="InMemoryStoreFullBehavior.EvictOldestCompleted"/>.</value>
    /// <remarks>
    /// <see cref="InMemoryStoreFullBehavior.EvictOldestCompleted"/> keeps the service answering under any sustained
    /// load, at the price of a shorter dedup window while the store is full (a warning says how short, at most once a
    /// minute). <see cref="InMemoryStoreFullBehavior.RefuseNewClaims"/> keeps every record for its full retention and
    /// refuses new keys instead.
    /// </remarks>
    [EnumDataType(typeof(InMemoryStoreFullBehavior), ErrorMessage = "InMemoryIdempotencyStoreOptions.WhenFull must be EvictOldestCompleted or RefuseNewClaims.")]
    public InMemoryStoreFullBehavior WhenFull { get; set; } = IdempotencyDefaults.InMemoryWhenFull;

    /// <summary>
    /// Gets or sets the fraction of <see cref="MaxEntries"/> and of <see cref="MaxBytes"/> that the records of one
    /// scope (<see cref="IdempotencyClaimRequest.Scope"/>: one user, one tenant, the anonymous callers) may hold.
    /// </summary>
    /// <value>The default is 0.1: one scope holds at most a tenth of the store when others need room.</value>
    /// <remarks>
    /// <para>
    /// Without a share, one caller sending fresh keys fills the store for everyone. A tenth leaves the other nine
    /// tenths to the remaining callers however hard one floods, and still lets a busy caller keep 10,000 records
    /// (by default) for its retries, far more than an honest client has in its retry window.
    /// </para>
    /// <para>
    /// With <see cref="InMemoryStoreFullBehavior.EvictOldestCompleted"/> the share only matters once the store is
    /// full: until then any scope may use the free room. When a new key needs room, the oldest completed records of
    /// the scopes over their share are evicted first (the caller's own, if it is over), so a flood evicts its own
    /// records, never another caller's; a scope over its share whose records are all in flight gets
    /// <see cref="IdempotencyScopeQuotaExceededException"/> (429). With
    /// <see cref="InMemoryStoreFullBehavior.RefuseNewClaims"/> the share is strict: a new key that would take its
    /// scope over the share is refused with that exception even while the store has room, so set 1 for a service
    /// whose callers all share one scope.
    /// </para>
    /// <para>1 turns the share off.</para>
    /// </remarks>
    [Range(0d, 1d, MinimumIsExclusive = true)]
    public double MaxScopeShare { get; set; } = IdempotencyDefaults.InMemoryMaxScopeShare;

    /// <summary>
    /// Gets or sets how long a claim whose lease has ended stays completable by its owner, as long as no other request
    /// has claimed the key since.
    /// </summary>
    /// <value>The default is 1 minute, as in the Redis store.</value>
    /// <remarks>
    /// Once a lease ends, any request with the key may claim it again. Until one does, the original owner can still
    /// complete (or release) its claim, so an operation that overran its lease is recorded instead of being run again
    /// by the next retry. After the grace period the record is deleted and a late completion reports
    /// <see cref="CompletionStatus.ClaimLost"/>. The record counts against the store's limits (and is never evicted)
    /// until then; the grace only costs room for claims whose owner died.
    /// </remarks>
    [TimeSpanRange("00:00:00", "1.00:00:00")]
    public TimeSpan LeaseGracePeriod { get; set; } = IdempotencyDefaults.InMemoryLeaseGracePeriod;

    /// <summary>
    /// Gets or sets the fill level (the larger of records / <see cref="MaxEntries"/> and bytes / <see cref="MaxBytes"/>)
    /// above which the store's health check (<c>AddHealthChecks().AddIdempotencyStore()</c>) reports Degraded.
    /// </summary>
    /// <value>The default is 0.9: Degraded once the store is more than nine tenths full.</value>
    /// <remarks>
    /// A full store evicts its oldest completed records (shortening the dedup window) or refuses new keys, depending
    /// on <see cref="WhenFull"/>; Degraded says so before it happens. 1 reports Degraded only when the store is full.
    /// </remarks>
    [Range(0d, 1d, MinimumIsExclusive = true)]
    public double DegradedFillLevel { get; set; } = IdempotencyDefaults.InMemoryDegradedFillLevel;

    /// <summary>
    /// Gets or sets whether the host logs a warning at start-up when the in-memory store is the store and the
    /// environment is not Development.
    /// </summary>
    /// <value>The default is <see langword="true"/>.</value>
    /// <remarks>
    /// The in-memory store deduplicates only the retries that reach the same process, and forgets every record on
    /// restart: behind a load balancer with several instances, a retry that reaches another instance runs again.
    /// Turn the warning off for a service that deliberately runs a single instance.
    /// </remarks>
    public bool WarnOutsideDevelopment { get; set; } = IdempotencyDefaults.InMemoryWarnOutsideDevelopment;
}
