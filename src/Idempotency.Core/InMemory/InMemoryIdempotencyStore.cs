using Microsoft.Extensions.Options;

namespace Idempotency;

/// <summary>
/// The default store: records in a dictionary under one lock, expired by <see cref="TimeProvider"/>, bounded by
/// <see cref="InMemoryIdempotencyStoreOptions"/>. Each operation is atomic because it runs entirely under the lock.
/// </summary>
internal sealed class InMemoryIdempotencyStore : IIdempotencyStore
{
    // Rough per-record overhead: the entry object, its dictionary slot and the owner token string.
    private const int EntryOverheadBytes = 160;

    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private readonly TimeProvider _timeProvider;
    private readonly InMemoryIdempotencyStoreOptions _options;
    private long _bytes;
    private DateTimeOffset _nextSweep;

    // No record expires before this moment (a lower bound, exact after each sweep): a sweep before it would find
    // nothing, so a full store refuses claims in O(1) instead of scanning every record on every request.
    private DateTimeOffset _earliestExpiry = DateTimeOffset.MaxValue;

    public InMemoryIdempotencyStore(IOptions<InMemoryIdempotencyStoreOptions> options, TimeProvider timeProvider)
    {
        _options = options.Value;
        _timeProvider = timeProvider;
        _nextSweep = timeProvider.GetUtcNow() + IdempotencyDefaults.InMemorySweepInterval;
    }

    /// <summary>Gets the number of records held, expired or not.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>Gets how many times the store has scanned its records for expired ones.</summary>
    public int SweepCount { get; private set; }

    /// <summary>Gets the bytes accounted for the records held.</summary>
    public long Bytes
    {
        get
        {
            lock (_lock)
            {
                return _bytes;
            }
        }
    }

    public ValueTask<IdempotencyClaimResult> ClaimAsync(IdempotencyClaimRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var now = _timeProvider.GetUtcNow();
        lock (_lock)
        {
            if (now >= _nextSweep)
            {
                SweepExpired(now);
            }

            if (_entries.TryGetValue(request.Key, out var entry))
            {
                if (entry.ExpiresAt > now)
                {
                    return ValueTask.FromResult(Existing(entry, request.Fingerprint.Span, now));
                }

                Remove(request.Key, entry); // expired lease or retention: the key is free again
            }

            var size = EntryOverheadBytes + (request.Key.Length * sizeof(char)) + request.Fingerprint.Length;
            EnsureCapacity(size, now);
            var claimed = new Entry(request.Fingerprint, request.OwnerToken, now + request.LeaseDuration, size);
            _entries.Add(request.Key, claimed);
            _bytes += size;
            NoteExpiry(claimed.ExpiresAt);
            return ValueTask.FromResult(IdempotencyClaimResult.Claimed(claimed.ExpiresAt));
        }
    }

    public ValueTask<CompletionStatus> CompleteAsync(IdempotencyCompleteRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var now = _timeProvider.GetUtcNow();
        lock (_lock)
        {
            if (!TryGetOwnedClaim(request.Key, request.OwnerToken, out var entry))
            {
                return ValueTask.FromResult(CompletionStatus.ClaimLost);
            }

            entry.Payload = request.Payload; // the contract lets a store keep the caller's memory: no copy of the body
            entry.IsCompleted = true;
            entry.ExpiresAt = now + request.Retention;
            NoteExpiry(entry.ExpiresAt);
            entry.Size += entry.Payload.Length;
            _bytes += entry.Payload.Length;
            return ValueTask.FromResult(CompletionStatus.Completed);
        }
    }

    public ValueTask<bool> ReleaseAsync(string key, string ownerToken, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(ownerToken);
        lock (_lock)
        {
            if (!TryGetOwnedClaim(key, ownerToken, out var entry))
            {
                return ValueTask.FromResult(false);
            }

            Remove(key, entry);
            return ValueTask.FromResult(true);
        }
    }

    private static IdempotencyClaimResult Existing(Entry entry, ReadOnlySpan<byte> fingerprint, DateTimeOffset now)
    {
        if (!entry.Fingerprint.Span.SequenceEqual(fingerprint))
        {
            return IdempotencyClaimResult.FingerprintMismatch();
        }

        return entry.IsCompleted
            ? IdempotencyClaimResult.Completed(entry.Payload)
            : IdempotencyClaimResult.InFlight(entry.ExpiresAt - now);
    }

    // An owner keeps its claim past the lease for as long as nobody else has claimed the key: the work is done
    // either way, and recording it is better than letting a retry run it again.
    private bool TryGetOwnedClaim(string key, string ownerToken, out Entry entry) =>
        _entries.TryGetValue(key, out entry!) && !entry.IsCompleted && string.Equals(entry.OwnerToken, ownerToken, StringComparison.Ordinal);

    private void EnsureCapacity(int size, DateTimeOffset now)
    {
        if (!IsFull(size))
        {
            return;
        }

        SweepExpired(now);
        if (IsFull(size))
        {
            throw new IdempotencyStoreCapacityExceededException(
                $"The in-memory idempotency store is full ({_entries.Count} records, {_bytes} bytes; limits {_options.MaxEntries} records, {_options.MaxBytes} bytes). " +
                "Live records are never evicted, so new keyed requests are refused until records expire. " +
                "Raise InMemoryIdempotencyStoreOptions.MaxEntries or MaxBytes, shorten the retention, or use a Redis or PostgreSQL store.");
        }
    }

    private bool IsFull(int size) => _entries.Count >= _options.MaxEntries || _bytes + size > _options.MaxBytes;

    private void NoteExpiry(DateTimeOffset expiresAt)
    {
        if (expiresAt < _earliestExpiry)
        {
            _earliestExpiry = expiresAt;
        }
    }

    private void SweepExpired(DateTimeOffset now)
    {
        _nextSweep = now + IdempotencyDefaults.InMemorySweepInterval;
        if (now < _earliestExpiry)
        {
            return;
        }

        SweepCount++;
        List<string>? expired = null;
        var earliestRemaining = DateTimeOffset.MaxValue;
        foreach (var (key, entry) in _entries)
        {
            if (entry.ExpiresAt <= now)
            {
                (expired ??= []).Add(key);
            }
            else if (entry.ExpiresAt < earliestRemaining)
            {
                earliestRemaining = entry.ExpiresAt;
            }
        }

        _earliestExpiry = earliestRemaining;
        if (expired is null)
        {
            return;
        }

        foreach (var key in expired)
        {
            Remove(key, _entries[key]);
        }
    }

    private void Remove(string key, Entry entry)
    {
        _entries.Remove(key);
        _bytes -= entry.Size;
    }

    private sealed class Entry(ReadOnlyMemory<byte> fingerprint, string ownerToken, DateTimeOffset expiresAt, long size)
    {
        public ReadOnlyMemory<byte> Fingerprint { get; } = fingerprint;

        public string OwnerToken { get; } = ownerToken;

        public DateTimeOffset ExpiresAt { get; set; } = expiresAt;

        public long Size { get; set; } = size;

        public bool IsCompleted { get; set; }

        public ReadOnlyMemory<byte> Payload { get; set; }
    }
}
