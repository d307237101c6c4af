using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Options;

namespace Idempotency;

/// <summary>
/// The default store: records in a dictionary under one lock, expired by <see cref="TimeProvider"/>, bounded by
/// <see cref="InMemoryIdempotencyStoreOptions"/>. Each operation is atomic because it runs entirely under the lock.
/// </summary>
/// <remarks>
/// Expired records are found through an expiry schedule, never by scanning the dictionary: each claim and completion
/// files its key under the second its record expires, and each claim removes a few of the records that are due (all
/// of them when the store is full). The work under the lock stays proportional to the records that expire, however
/// many live ones the store holds. A key filed under a second whose record has since been completed (a later expiry),
/// released or claimed again is skipped when its second comes.
/// </remarks>
internal sealed class InMemoryIdempotencyStore : IIdempotencyStore
{
    // Rough per-record overhead: the entry object, its dictionary slot, the owner token string and its schedule slots.
    private const int EntryOverheadBytes = 160;

    // How many due schedule entries one claim examines: more than the two each request files, so removal keeps up.
    private const int ExpiryChecksPerClaim = 16;

    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private readonly TimeProvider _timeProvider;
    private readonly InMemoryIdempotencyStoreOptions _options;

    // The expiry schedule: keys by the second (Unix time, rounded up) at which their record expires. Seconds before
    // _nextDueSecond have been handed to _dueKeys already; _dueKeys[_dueIndex..] are the keys still to examine.
    private readonly Dictionary<long, ScheduledKeys> _schedule = [];
    private long _bytes;
    private long _nextDueSecond;
    private ScheduledKeys? _dueKeys;
    private int _dueIndex;

    public InMemoryIdempotencyStore(IOptions<InMemoryIdempotencyStoreOptions> options, TimeProvider timeProvider)
    {
        _options = options.Value;
        _timeProvider = timeProvider;
        _nextDueSecond = timeProvider.GetUtcNow().ToUnixTimeSeconds();
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

    /// <summary>Gets how many scheduled expiries the store has examined, in total: the measure of its expiry work.</summary>
    public long ExpiryChecks { get; private set; }

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
            RemoveExpired(now, ExpiryChecksPerClaim);
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
            Schedule(request.Key, claimed.ExpiresAt);
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
            Schedule(request.Key, entry.ExpiresAt);
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

        RemoveExpired(now, int.MaxValue);
        if (IsFull(size))
        {
            throw new IdempotencyStoreCapacityExceededException(
                $"The in-memory idempotency store is full ({_entries.Count} records, {_bytes} bytes; limits {_options.MaxEntries} records, {_options.MaxBytes} bytes). " +
                "Live records are never evicted, so new keyed requests are refused until records expire. " +
                "Raise InMemoryIdempotencyStoreOptions.MaxEntries or MaxBytes, shorten the retention, or use a Redis or PostgreSQL store.");
        }
    }

    private bool IsFull(int size) => _entries.Count >= _options.MaxEntries || _bytes + size > _options.MaxBytes;

    private void Schedule(string key, DateTimeOffset expiresAt)
    {
        // Never before the next second to be examined (a clock set back, a zero duration): filed later, a record is
        // examined later, and still only once it has expired.
        var second = Math.Max(DueSecond(expiresAt), _nextDueSecond);
        if (!_schedule.TryGetValue(second, out var keys))
        {
            _schedule[second] = keys = new ScheduledKeys();
        }

        keys.Add(key);
    }

    /// <summary>Examines up to <paramref name="budget"/> scheduled expiries that are due, removing the records that have expired.</summary>
    private void RemoveExpired(DateTimeOffset now, int budget)
    {
        var nowSecond = now.ToUnixTimeSeconds();
        while (budget > 0)
        {
            if (_dueKeys is null || _dueIndex == _dueKeys.Count)
            {
                _dueKeys = null;
                if (!TryTakeDueSecond(nowSecond, out _dueKeys))
                {
                    return;
                }

                _dueIndex = 0;
            }

            var key = _dueKeys[_dueIndex++];
            budget--;
            ExpiryChecks++;
            if (_entries.TryGetValue(key, out var entry) && entry.ExpiresAt <= now)
            {
                Remove(key, entry);
            }
        }
    }

    // The keys of the earliest scheduled second that has come, or false when none has.
    private bool TryTakeDueSecond(long nowSecond, [NotNullWhen(true)] out ScheduledKeys? keys)
    {
        keys = null;
        if (_schedule.Count == 0 || _nextDueSecond > nowSecond)
        {
            return false;
        }

        // Step through the seconds, or, after a long quiet spell, through the scheduled ones, whichever is fewer.
        if (nowSecond - _nextDueSecond > _schedule.Count)
        {
            var earliest = long.MaxValue;
            foreach (var second in _schedule.Keys)
            {
                earliest = Math.Min(earliest, second);
            }

            _nextDueSecond = Math.Max(_nextDueSecond, earliest);
        }

        for (; _nextDueSecond <= nowSecond; _nextDueSecond++)
        {
            if (_schedule.Remove(_nextDueSecond, out keys))
            {
                _nextDueSecond++;
                return true;
            }
        }

        return false;
    }

    // The expiry rounded up to a whole second: once the clock's second reaches it, every record filed there has expired.
    private static long DueSecond(DateTimeOffset expiresAt)
    {
        var seconds = expiresAt.ToUnixTimeSeconds();
        return expiresAt > DateTimeOffset.FromUnixTimeSeconds(seconds) ? seconds + 1 : seconds;
    }

    private void Remove(string key, Entry entry)
    {
        _entries.Remove(key);
        _bytes -= entry.Size;
    }

    /// <summary>
    /// The keys filed under one second, appended in chunks: the first grows from a few slots, the others hold 1,024
    /// references (8 KiB), so a busy second never lands an array on the large object heap, and a quiet one costs little.
    /// </summary>
    private sealed class ScheduledKeys
    {
        private const int ChunkSize = 1024;
        private const int FirstChunkSize = 8;

        private readonly List<string[]> _chunks = [new string[FirstChunkSize]];

        public int Count { get; private set; }

        public string this[int index] => _chunks[index / ChunkSize][index % ChunkSize];

        public void Add(string key)
        {
            var last = _chunks[^1];
            var inLast = Count - ((_chunks.Count - 1) * ChunkSize); // every chunk but the last is full
            if (inLast == last.Length)
            {
                if (last.Length < ChunkSize)
                {
                    Array.Resize(ref last, last.Length * 2); // only the first chunk grows, up to ChunkSize
                    _chunks[^1] = last;
                }
                else
                {
                    _chunks.Add(last = new string[ChunkSize]);
                    inLast = 0;
                }
            }

            last[inLast] = key;
            Count++;
        }
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
