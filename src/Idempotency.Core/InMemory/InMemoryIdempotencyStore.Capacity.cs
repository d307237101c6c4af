using System.Globalization;
using System.Runtime.InteropServices;

namespace Idempotency;

/// <summary>
/// The store's bounds: what a new key does when the store is full (<see cref="InMemoryIdempotencyStoreOptions.WhenFull"/>),
/// and each scope's share of the store (<see cref="InMemoryIdempotencyStoreOptions.MaxScopeShare"/>).
/// </summary>
/// <remarks>
/// Each scope's records are counted in a <see cref="ScopeUsage"/> that every record refers to, removed when its last
/// record goes. Completed records are linked in completion order twice: in the store's list and in their scope's, so the
/// oldest completed record, overall or of one scope, is found and evicted in constant time. Scopes over their share are
/// linked too; each holds more than its share, so there are at most about 1 / <see cref="InMemoryIdempotencyStoreOptions.MaxScopeShare"/>
/// of them at once (ten by default), and picking the one most over its share never scans the store.
/// </remarks>
internal sealed partial class InMemoryIdempotencyStore
{
    // The longest Retry-After a strict share refusal asks for: a record kept for a day should not make a client wait a day.
    private static readonly TimeSpan MaxShareRetryAfter = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan MinShareRetryAfter = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan EvictionWarningInterval = TimeSpan.FromMinutes(1);

    private readonly Dictionary<string, ScopeUsage> _scopes = new(StringComparer.Ordinal);
    private readonly int _scopeMaxEntries;
    private readonly long _scopeMaxBytes;
    private readonly bool _sharesPerScope;
    private IntrusiveList<Entry, Entry.ByCompletion> _completed;
    private IntrusiveList<ScopeUsage, ScopeUsage.ByOverShare> _scopesOverShare;
    private long _evictedSinceWarning;
    private DateTimeOffset _nextEvictionWarning = DateTimeOffset.MinValue;

    /// <summary>Gets the number of scopes that hold records.</summary>
    internal int ScopeCount
    {
        get
        {
            lock (_lock)
            {
                return _scopes.Count;
            }
        }
    }

    /// <summary>Gets the records and bytes of <paramref name="scope"/> held, for tests.</summary>
    internal (int Records, long Bytes) ScopeUsageOf(string scope)
    {
        lock (_lock)
        {
            return _scopes.TryGetValue(scope, out var usage) ? (usage.Count, usage.Bytes) : (0, 0);
        }
    }

    private static (int Entries, long Bytes) ScopeShare(InMemoryIdempotencyStoreOptions options)
    {
        var share = options.MaxScopeShare;
        if (share >= 1)
        {
            return (options.MaxEntries, options.MaxBytes);
        }

        return (
            Math.Max(1, (int)(options.MaxEntries * share)),
            Math.Max(1, (long)Math.Min(options.MaxBytes * share, long.MaxValue / 2)));
    }

    /// <summary>
    /// Makes room for a new record of <paramref name="size"/> bytes in <paramref name="scope"/>, or says why not.
    /// </summary>
    /// <returns><see langword="null"/> when the claim may go ahead; otherwise the exception that refuses it.</returns>
    private IdempotencyStoreException? MakeRoom(ScopeUsage? scope, int size, DateTimeOffset now, ref Evictions evictions)
    {
        if (_options.WhenFull == InMemoryStoreFullBehavior.RefuseNewClaims)
        {
            if (WouldExceedShare(scope, size))
            {
                RemoveExpired(now, int.MaxValue);
                if (WouldExceedShare(scope, size))
                {
                    return ScopeShareExceeded(scope, now, strict: true);
                }
            }

            if (IsFull(size))
            {
                RemoveExpired(now, int.MaxValue);
                if (IsFull(size))
                {
                    return Full(
                        "New keyed requests are refused until records expire (WhenFull is RefuseNewClaims). " +
                        "Raise InMemoryIdempotencyStoreOptions.MaxEntries or MaxBytes, shorten the retention, set WhenFull to EvictOldestCompleted, or use a Redis or PostgreSQL store.");
                }
            }

            return null;
        }

        if (!IsFull(size))
        {
            return null; // work-conserving: while the store has room, any scope may use it
        }

        RemoveExpired(now, int.MaxValue);
        while (IsFull(size))
        {
            Entry? victim;
            bool forShare;
            if (WouldExceedShare(scope, size))
            {
                // Over its share: the claimer makes room from its own records, or waits for its leases.
                victim = scope?.OldestCompleted;
                if (victim is null)
                {
                    return ScopeShareExceeded(scope, now, strict: false);
                }

                forShare = _scopes.Count > 1; // a scope alone in the store is simply full
            }
            else if ((victim = OldestCompletedOfScopeMostOverShare()) is not null)
            {
                forShare = true;
            }
            else if ((victim = _completed.First) is not null)
            {
                forShare = false;
            }
            else
            {
                return Full(
                    "Every record is in flight, and a record in flight is never evicted: its request could then run twice. " +
                    "Raise InMemoryIdempotencyStoreOptions.MaxEntries or MaxBytes, or use a Redis or PostgreSQL store.");
            }

            Remove(victim);
            evictions.Add(forShare);
        }

        return null;
    }

    private bool IsFull(int size) => _entries.Count >= _options.MaxEntries || _bytes + size > _options.MaxBytes;

    // A new record would take the scope past its share (a scope at its share is not over it yet, but would be).
    private bool WouldExceedShare(ScopeUsage? scope, int size) =>
        _sharesPerScope && ((scope?.Count ?? 0) >= _scopeMaxEntries || (scope?.Bytes ?? 0) + size > _scopeMaxBytes);

    private bool IsOverShare(ScopeUsage scope) => _sharesPerScope && (scope.Count > _scopeMaxEntries || scope.Bytes > _scopeMaxBytes);

    private double ShareUsed(ScopeUsage scope) =>
        Math.Max((double)scope.Count / _scopeMaxEntries, (double)scope.Bytes / _scopeMaxBytes);

    // Keeps the list of scopes over their share up to date after a scope's records or bytes changed.
    private void UpdateShare(ScopeUsage scope)
    {
        var over = IsOverShare(scope) && scope.Count > 0;
        if (over == scope.IsOverShare)
        {
            return;
        }

        scope.IsOverShare = over;
        if (over)
        {
            _scopesOverShare.AddLast(scope);
        }
        else
        {
            _scopesOverShare.Remove(scope);
        }
    }

    // The oldest completed record of the scope most over its share that has one; at most about 1 / MaxScopeShare
    // scopes can be over their share at once, so this walk is short.
    private Entry? OldestCompletedOfScopeMostOverShare()
    {
        ScopeUsage? most = null;
        var mostUsed = 0d;
        for (var scope = _scopesOverShare.First; scope is not null; scope = scope.OverShareLinks.Next)
        {
            if (scope.OldestCompleted is null)
            {
                continue;
            }

            var used = ShareUsed(scope);
            if (most is null || used > mostUsed)
            {
                most = scope;
                mostUsed = used;
            }
        }

        return most?.OldestCompleted;
    }

    // The scope's usage as held in the dictionary, added when the scope had no records (or lost its last to eviction).
    private ScopeUsage AttachScope(string name, ScopeUsage? scope)
    {
        if (scope is not null && scope.Count > 0)
        {
            return scope;
        }

        ref var held = ref CollectionsMarshal.GetValueRefOrAddDefault(_scopes, name, out _);
        held ??= scope ?? new ScopeUsage(name);
        return held;
    }

    private void LinkCompleted(Entry entry) => _completed.AddLast(entry);

    private void UnlinkCompleted(Entry entry) => _completed.Remove(entry);

    private IdempotencyStoreCapacityExceededException Full(string what) => new(
        string.Create(CultureInfo.InvariantCulture, $"The in-memory idempotency store is full ({_entries.Count} records, {_bytes} bytes; limits {_options.MaxEntries} records, {_options.MaxBytes} bytes). ") + what);

    private IdempotencyScopeQuotaExceededException ScopeShareExceeded(ScopeUsage? scope, DateTimeOffset now, bool strict)
    {
        // Strict: room comes back when the scope's first record expires. Otherwise the scope holds only records in flight,
        // and room comes back when the oldest of them completes (and can then be evicted) or its lease ends.
        var retryAfter = MinShareRetryAfter;
        if (scope?.OldestInFlight is { } inFlight)
        {
            retryAfter = (strict ? RemovableAt(inFlight) : inFlight.ExpiresAt) - now;
        }

        if (strict && scope?.OldestCompleted is { } completed && (scope.OldestInFlight is null || completed.ExpiresAt - now < retryAfter))
        {
            retryAfter = completed.ExpiresAt - now;
        }

        retryAfter = retryAfter < MinShareRetryAfter ? MinShareRetryAfter : retryAfter > MaxShareRetryAfter ? MaxShareRetryAfter : retryAfter;
        return new IdempotencyScopeQuotaExceededException(
            string.Create(
                CultureInfo.InvariantCulture,
                $"The caller's scope holds its share of the in-memory idempotency store ({_options.MaxScopeShare:0.###} of {_options.MaxEntries} records and {_options.MaxBytes} bytes: {scope?.Count ?? 0} records, {scope?.Bytes ?? 0} bytes) ") +
            (strict
                ? "and no record may take it over its share (WhenFull is RefuseNewClaims). "
                : "and every one of its records is in flight, so none can make room. ") +
            "Retry later, or raise InMemoryIdempotencyStoreOptions.MaxScopeShare, MaxEntries or MaxBytes.",
            retryAfter);
    }

    // Under the lock: counts this claim's evictions towards the next warning, and decides whether it is due.
    private void NoteEvictions(ref Evictions evictions, DateTimeOffset now)
    {
        if (evictions.Total == 0)
        {
            return;
        }

        _evictedSinceWarning += evictions.Total;
        if (now < _nextEvictionWarning)
        {
            return;
        }

        _nextEvictionWarning = now + EvictionWarningInterval;
        evictions.Warn = true;
        evictions.EvictedSinceWarning = _evictedSinceWarning;
        evictions.DedupWindow = _completed.First is { } oldest ? now - oldest.CompletedAt : TimeSpan.Zero;
        _evictedSinceWarning = 0;
    }

    // Outside the lock: metrics and the warning, so listeners never run under it.
    private void ReportEvictions(in Evictions evictions)
    {
        if (evictions.Total == 0)
        {
            return;
        }

        _metrics?.Evicted(evictions.ForFull, evictions.ForShare);
        if (evictions.Warn)
        {
            LogEvicting(evictions.EvictedSinceWarning, evictions.DedupWindow);
        }
    }

    /// <summary>What one claim evicted, and what to report about it once the lock is released.</summary>
    private struct Evictions
    {
        public int ForFull { get; private set; }

        public int ForShare { get; private set; }

        public readonly int Total => ForFull + ForShare;

        public bool Warn { get; set; }

        public long EvictedSinceWarning { get; set; }

        public TimeSpan DedupWindow { get; set; }

        public void Add(bool forShare)
        {
            if (forShare)
            {
                ForShare++;
            }
            else
            {
                ForFull++;
            }
        }
    }

    /// <summary>The records and bytes one scope holds, with its records in flight and its completed ones, oldest first.</summary>
    private sealed class ScopeUsage(string name)
    {
        public string Name { get; } = name;

        public int Count { get; set; }

        public long Bytes { get; set; }

        public Entry? OldestInFlight => _inFlight.First;

        public Entry? OldestCompleted => _completedRecords.First;

        public bool IsOverShare { get; set; }

        public ListLinks<ScopeUsage> OverShareLinks;

        private IntrusiveList<Entry, Entry.ByScope> _inFlight;
        private IntrusiveList<Entry, Entry.ByScope> _completedRecords;

        // Appends the record to its list: completed records by completion, records in flight by claim.
        public void Link(Entry entry)
        {
            if (entry.IsCompleted)
            {
                _completedRecords.AddLast(entry);
            }
            else
            {
                _inFlight.AddLast(entry);
            }
        }

        public void Unlink(Entry entry)
        {
            if (entry.IsCompleted)
            {
                _completedRecords.Remove(entry);
            }
            else
            {
                _inFlight.Remove(entry);
            }
        }

        public readonly struct ByOverShare : IListLinks<ScopeUsage>
        {
            public static ref ListLinks<ScopeUsage> Of(ScopeUsage node) => ref node.OverShareLinks;
        }
    }
}
