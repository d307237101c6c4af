using System.Globalization;
using System.Runtime.InteropServices;

namespace Idempotency;

/// <summary>
/// The store's bounds: what a new key does when the store is full (<see cref="InMemoryIdempotencyStoreOptions.WhenFull"/>),
/// and each scope's share of the store (<see cref="InMemoryIdempotencyStoreOptions.MaxScopeShare"/>).
/// </summary>
/// <remarks>
/// Each scope's records are counted in a <see cref="ScopeUsage"/> (a struct in an array, numbered like the records)
/// that every record refers to by number, released when its last record goes. Completed records are linked in completion order twice: in the store's list and in their scope's, so the
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

    private readonly Dictionary<string, int> _scopeIds = new(StringComparer.Ordinal);
    private ScopeUsage[] _scopes = new ScopeUsage[16]; // scope 0 is never used: it is "none", and stays all zeros
    private int _scopeHighWater = 1;
    private int _freeScopes;
    private readonly int _scopeMaxEntries;
    private readonly long _scopeMaxBytes;
    private readonly bool _sharesPerScope;
    private IndexList<ByCompletion> _completed;
    private IndexList<ByOverShare> _scopesOverShare;
    private long _evictedSinceWarning;
    private long _nextEvictionWarning = long.MinValue;

    /// <summary>Gets the number of scopes that hold records.</summary>
    internal int ScopeCount
    {
        get
        {
            lock (_lock)
            {
                return _scopeIds.Count;
            }
        }
    }

    /// <summary>Gets the records and bytes of <paramref name="scope"/> held, for tests.</summary>
    internal (int Records, long Bytes) ScopeUsageOf(string scope)
    {
        lock (_lock)
        {
            if (!_scopeIds.TryGetValue(scope, out var number))
            {
                return (0, 0);
            }

            ref var usage = ref ScopeAt(number);
            return (usage.Count, usage.Bytes);
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
    private IdempotencyStoreException? MakeRoom(int scope, int size, long now, ref Evictions evictions)
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
            int victim;
            bool forShare;
            if (WouldExceedShare(scope, size))
            {
                // Over its share: the claimer makes room from its own records, or waits for its leases.
                victim = ScopeAt(scope).CompletedRecords.First;
                if (victim == 0)
                {
                    return ScopeShareExceeded(scope, now, strict: false);
                }

                forShare = _scopeIds.Count > 1; // a scope alone in the store is simply full
            }
            else if ((victim = OldestCompletedOfScopeMostOverShare()) != 0)
            {
                forShare = true;
            }
            else if ((victim = _completed.First) != 0)
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

    private bool IsFull(int size) => _count >= _options.MaxEntries || _bytes + size > _options.MaxBytes;

    // A new record would take the scope past its share (a scope at its share is not over it yet, but would be).
    // Scope 0 ("none": a scope that holds no record) is all zeros.
    private bool WouldExceedShare(int scope, int size) =>
        _sharesPerScope && (ScopeAt(scope).Count >= _scopeMaxEntries || ScopeAt(scope).Bytes + size > _scopeMaxBytes);

    private bool IsOverShare(in ScopeUsage usage) => _sharesPerScope && (usage.Count > _scopeMaxEntries || usage.Bytes > _scopeMaxBytes);

    private double ShareUsed(in ScopeUsage usage) =>
        Math.Max((double)usage.Count / _scopeMaxEntries, (double)usage.Bytes / _scopeMaxBytes);

    private ref ScopeUsage ScopeAt(int scope) => ref _scopes[scope];

    // Keeps the list of scopes over their share up to date after a scope's records or bytes changed.
    private void UpdateShare(int scope)
    {
        ref var usage = ref ScopeAt(scope);
        var over = IsOverShare(usage) && usage.Count > 0;
        if (over == usage.IsOverShare)
        {
            return;
        }

        usage.IsOverShare = over;
        if (over)
        {
            _scopesOverShare.AddLast(this, scope);
        }
        else
        {
            _scopesOverShare.Remove(this, scope);
        }
    }

    // The oldest completed record of the scope most over its share that has one; at most about 1 / MaxScopeShare
    // scopes can be over their share at once, so this walk is short.
    private int OldestCompletedOfScopeMostOverShare()
    {
        var most = 0;
        var mostUsed = 0d;
        for (var scope = _scopesOverShare.First; scope != 0; scope = ScopeAt(scope).OverShareLinks.Next)
        {
            ref var usage = ref ScopeAt(scope);
            if (usage.CompletedRecords.First == 0)
            {
                continue;
            }

            var used = ShareUsed(usage);
            if (most == 0 || used > mostUsed)
            {
                most = scope;
                mostUsed = used;
            }
        }

        return most == 0 ? 0 : ScopeAt(most).CompletedRecords.First;
    }

    // The scope's number as held in the dictionary, taken when the scope had no records (or lost its last to eviction).
    private int AttachScope(string name, int scope)
    {
        if (scope != 0 && ScopeAt(scope).Count > 0)
        {
            return scope;
        }

        ref var held = ref CollectionsMarshal.GetValueRefOrAddDefault(_scopeIds, name, out var exists);
        if (!exists)
        {
            held = TakeScopeNumber();
            ScopeAt(held).Name = name;
        }

        return held;
    }

    private int TakeScopeNumber()
    {
        if (_freeScopes != 0)
        {
            var number = _freeScopes;
            _freeScopes = ScopeAt(number).OverShareLinks.Next;
            ScopeAt(number) = default;
            return number;
        }

        if (_scopeHighWater == _scopes.Length)
        {
            Array.Resize(ref _scopes, _scopes.Length * 2);
        }

        return _scopeHighWater++;
    }

    // The scope's last record is gone: its number is free, and its usage all zeros (as scope 0's) until it is taken.
    private void ReleaseScope(int scope)
    {
        ref var usage = ref ScopeAt(scope);
        _scopeIds.Remove(usage.Name!);
        usage = default;
        usage.OverShareLinks.Next = _freeScopes;
        _freeScopes = scope;
    }

    private IdempotencyStoreCapacityExceededException Full(string what) => new(
        string.Create(CultureInfo.InvariantCulture, $"The in-memory idempotency store is full ({_count} records, {_bytes} bytes; limits {_options.MaxEntries} records, {_options.MaxBytes} bytes). ") + what);

    private IdempotencyScopeQuotaExceededException ScopeShareExceeded(int scope, long now, bool strict)
    {
        // Strict: room comes back when the scope's first record expires. Otherwise the scope holds only records in flight,
        // and room comes back when the oldest of them completes (and can then be evicted) or its lease ends.
        ref var usage = ref ScopeAt(scope);
        var retryAfter = MinShareRetryAfter;
        if (usage.InFlight.First is var inFlight and not 0)
        {
            retryAfter = TimeSpan.FromTicks((strict ? RemovableAt(in At(inFlight)) : At(inFlight).ExpiresAt) - now);
        }

        if (strict && usage.CompletedRecords.First is var completed and not 0 && (usage.InFlight.First == 0 || TimeSpan.FromTicks(At(completed).ExpiresAt - now) < retryAfter))
        {
            retryAfter = TimeSpan.FromTicks(At(completed).ExpiresAt - now);
        }

        retryAfter = retryAfter < MinShareRetryAfter ? MinShareRetryAfter : retryAfter > MaxShareRetryAfter ? MaxShareRetryAfter : retryAfter;
        return new IdempotencyScopeQuotaExceededException(
            string.Create(
                CultureInfo.InvariantCulture,
                $"The caller's scope holds its share of the in-memory idempotency store ({_options.MaxScopeShare:0.###} of {_options.MaxEntries} records and {_options.MaxBytes} bytes: {usage.Count} records, {usage.Bytes} bytes) ") +
            (strict
                ? "and no record may take it over its share (WhenFull is RefuseNewClaims). "
                : "and every one of its records is in flight, so none can make room. ") +
            "Retry later, or raise InMemoryIdempotencyStoreOptions.MaxScopeShare, MaxEntries or MaxBytes.",
            retryAfter);
    }

    // Under the lock: counts this claim's evictions towards the next warning, and decides whether it is due.
    private void NoteEvictions(ref Evictions evictions, long now)
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

        _nextEvictionWarning = now + EvictionWarningInterval.Ticks;
        evictions.Warn = true;
        evictions.EvictedSinceWarning = _evictedSinceWarning;
        evictions.DedupWindow = _completed.First is var oldest and not 0 ? TimeSpan.FromTicks(now - At(oldest).CompletedAt) : TimeSpan.Zero;
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
    private struct ScopeUsage
    {
        public string? Name;
        public int Count;
        public long Bytes;
        public bool IsOverShare;

        // On the list of scopes over their share (and, once released, the free list).
        public IndexLinks OverShareLinks;
        public IndexList<ByScope> InFlight;
        public IndexList<ByScope> CompletedRecords;

        // Appends the record to its list: completed records by completion, records in flight by claim.
        public void Link(InMemoryIdempotencyStore store, int record, bool completed)
        {
            if (completed)
            {
                CompletedRecords.AddLast(store, record);
            }
            else
            {
                InFlight.AddLast(store, record);
            }
        }

        public void Unlink(InMemoryIdempotencyStore store, int record, bool completed)
        {
            if (completed)
            {
                CompletedRecords.Remove(store, record);
            }
            else
            {
                InFlight.Remove(store, record);
            }
        }
    }

    private readonly struct ByOverShare : IIndexLinks
    {
        public static ref IndexLinks Of(InMemoryIdempotencyStore store, int node) => ref store.ScopeAt(node).OverShareLinks;
    }
}
