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
    /// <remarks>When the store is full, new claims fail with <see cref="IdempotencyStoreCapacityExceededException"/>; live records are never evicted.</remarks>
    [Range(1, int.MaxValue)]
    public int MaxEntries { get; set; } = IdempotencyDefaults.InMemoryMaxEntries;

    /// <summary>Gets or sets the most bytes of keys, fingerprints and stored payloads held at once.</summary>
    /// <value>The default is 256 MiB.</value>
    /// <remarks>
    /// New claims are refused once the limit is reached. Completing a claim that is already in flight is never
    /// refused (its operation has already run), so the total can exceed the limit by the payloads of the claims in
    /// flight at that moment.
    /// </remarks>
    [Range(1, long.MaxValue)]
    public long MaxBytes { get; set; } = IdempotencyDefaults.InMemoryMaxBytes;
}
