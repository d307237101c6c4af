using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Idempotency;

/// <summary>
/// The default store: records in a dictionary under one lock, expired by <see cref="TimeProvider"/>, bounded by
/// <see cref="InMemoryIdempotencyStoreOptions"/>. Each operation is atomic because it runs entirely under the lock.
/// </summary>
/// <remarks>
/// <para>
/// Expired records are found through an expiry schedule, never by scanning the dictionary: each record is filed under
/// the second it expires (its lease end plus the grace period while in flight, its retention end once completed), and
/// each claim removes a few of the records that are due (all of them when the store is full). The work under the lock
/// stays proportional to the records that expire, however many live ones the store holds (see the <c>Expiry</c> part).
/// </para>
/// <para>
/// A full store makes room by evicting completed records, oldest first, from the scopes over their share first (see
/// the <c>Capacity</c> part). Every list a record is on (its expiry second, its scope, the completed records by age)
/// is linked through the record itself, so filing, evicting and removing a record are constant work and allocate
/// nothing.
/// </para>
/// </remarks>
internal sealed partial class InMemoryIdempotencyStore : IIdempotencyStore
{
    /// <summary>The store's name in telemetry, also the store tag of its own instruments.</summary>
    public const string StoreName = "inmemory";

    // Rough per-record overhead: the entry object with its links, its dictionary slot, the owner token string and the
    // fingerprint array's header.
    private const int EntryOverheadBytes = 320;

    // How many due records one claim examines: more than the one each request files, so removal keeps up.
    private const int ExpiryChecksPerClaim = 16;

    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private readonly TimeProvider _timeProvider;
    private readonly InMemoryIdempotencyStoreOptions _options;
    private readonly TimeSpan _leaseGracePeriod;
    private readonly ILogger _logger;
    private readonly InMemoryStoreMetrics? _metrics;
    private long _bytes;

    /// <inheritdoc />
    public string Name => StoreName;

    public InMemoryIdempotencyStore(
        IOptions<InMemoryIdempotencyStoreOptions> options,
        TimeProvider timeProvider,
        ILogger<InMemoryIdempotencyStore>? logger = null,
        IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _options = options.Value;
        _timeProvider = timeProvider;
        _leaseGracePeriod = _options.LeaseGracePeriod;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _metrics = meterFactory is null ? null : new InMemoryStoreMetrics(meterFactory);
        _nextDueSecond = timeProvider.GetUtcNow().ToUnixTimeSeconds();
        (_scopeMaxEntries, _scopeMaxBytes) = ScopeShare(_options);
        _sharesPerScope = _scopeMaxEntries < _options.MaxEntries || _scopeMaxBytes < _options.MaxBytes;
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
        var evictions = default(Evictions);
        IdempotencyStoreException? refusal;
        IdempotencyClaimResult? result = null;
        lock (_lock)
        {
            RemoveExpired(now, ExpiryChecksPerClaim);
            if (_entries.TryGetValue(request.Key, out var entry))
            {
                if (entry.ExpiresAt > now)
                {
                    return ValueTask.FromResult(Existing(entry, request.Fingerprint.Span, now));
                }

                Remove(entry); // an ended lease (even within its grace) or retention: the key is free again
            }

            var size = EntryOverheadBytes + (request.Key.Length * sizeof(char)) + request.Fingerprint.Length;
            _scopes.TryGetValue(request.Scope, out var scope);
            refusal = MakeRoom(scope, size, now, ref evictions);
            if (refusal is null)
            {
                scope = AttachScope(request.Scope, scope);
                var claimed = new Entry(request.Key, request.Fingerprint, request.OwnerToken, now + request.LeaseDuration, size, scope);
                _entries.Add(request.Key, claimed);
                _bytes += size;
                scope.Link(claimed);
                scope.Count++;
                scope.Bytes += size;
                UpdateShare(scope);
                Schedule(claimed, claimed.ExpiresAt + _leaseGracePeriod);
                result = IdempotencyClaimResult.Claimed(claimed.ExpiresAt);
            }

            NoteEvictions(ref evictions, now);
        }

        ReportEvictions(in evictions);
        if (refusal is not null)
        {
            if (refusal is IdempotencyScopeQuotaExceededException quota)
            {
                LogScopeShareExceeded(quota.RetryAfter);
            }

            throw refusal;
        }

        return ValueTask.FromResult(result!);
    }

    public ValueTask<CompletionStatus> CompleteAsync(IdempotencyCompleteRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var now = _timeProvider.GetUtcNow();
        lock (_lock)
        {
            if (!TryGetOwnedClaim(request.Key, request.OwnerToken, now, out var entry))
            {
                return ValueTask.FromResult(CompletionStatus.ClaimLost);
            }

            var scope = entry.Scope;
            scope.Unlink(entry); // from the scope's records in flight...
            entry.Payload = request.Payload; // the contract lets a store keep the caller's memory: no copy of the body
            entry.IsCompleted = true;
            entry.CompletedAt = now;
            entry.ExpiresAt = now + request.Retention;
            entry.Size += entry.Payload.Length;
            scope.Link(entry); // ...to its completed ones
            scope.Bytes += entry.Payload.Length;
            _bytes += entry.Payload.Length;
            LinkCompleted(entry);
            UpdateShare(scope);
            Unschedule(entry);
            Schedule(entry, entry.ExpiresAt);
            return ValueTask.FromResult(CompletionStatus.Completed);
        }
    }

    public ValueTask<bool> ReleaseAsync(string key, string ownerToken, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(ownerToken);
        var now = _timeProvider.GetUtcNow();
        lock (_lock)
        {
            if (!TryGetOwnedClaim(key, ownerToken, now, out var entry))
            {
                return ValueTask.FromResult(false);
            }

            Remove(entry);
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

    // An owner keeps its claim past the lease, for the grace period, as long as nobody else has claimed the key: the
    // work is done either way, and recording it is better than letting a retry run it again.
    private bool TryGetOwnedClaim(string key, string ownerToken, DateTimeOffset now, out Entry entry)
    {
        if (!_entries.TryGetValue(key, out entry!) || entry.IsCompleted || !string.Equals(entry.OwnerToken, ownerToken, StringComparison.Ordinal))
        {
            return false;
        }

        if (RemovableAt(entry) <= now)
        {
            Remove(entry); // past its grace: forgotten, even if the expiry schedule has not come to it yet
            return false;
        }

        return true;
    }

    // When a record may be deleted: the retention end once completed, the lease end plus the grace while in flight.
    private DateTimeOffset RemovableAt(Entry entry) => entry.IsCompleted ? entry.ExpiresAt : entry.ExpiresAt + _leaseGracePeriod;

    private void Remove(Entry entry)
    {
        _entries.Remove(entry.Key);
        _bytes -= entry.Size;
        Unschedule(entry);
        if (entry.IsCompleted)
        {
            UnlinkCompleted(entry);
        }

        var scope = entry.Scope;
        scope.Unlink(entry);
        scope.Count--;
        scope.Bytes -= entry.Size;
        UpdateShare(scope);
        if (scope.Count == 0)
        {
            _scopes.Remove(scope.Name);
        }
    }

    /// <summary>One record, linked into the lists it is on through fields of its own, so filing it allocates nothing.</summary>
    private sealed class Entry(string key, ReadOnlyMemory<byte> fingerprint, string ownerToken, DateTimeOffset expiresAt, long size, ScopeUsage scope)
    {
        public string Key { get; } = key;

        public ReadOnlyMemory<byte> Fingerprint { get; } = fingerprint;

        public string OwnerToken { get; } = ownerToken;

        /// <summary>Gets or sets the lease end while in flight, the retention end once completed.</summary>
        public DateTimeOffset ExpiresAt { get; set; } = expiresAt;

        public DateTimeOffset CompletedAt { get; set; }

        public long Size { get; set; } = size;

        public bool IsCompleted { get; set; }

        public ReadOnlyMemory<byte> Payload { get; set; }

        public ScopeUsage Scope { get; } = scope;

        /// <summary>Gets or sets the second of the expiry schedule the record is filed under.</summary>
        public ScheduledSecond? Second { get; set; }

        // The lists the record is on: its scope's (in flight, or completed), the store's completed records in
        // completion order, and its second of the expiry schedule. Fields, so the lists can link them by reference.
        public ListLinks<Entry> ScopeLinks;
        public ListLinks<Entry> CompletedLinks;
        public ListLinks<Entry> SecondLinks;

        public readonly struct ByScope : IListLinks<Entry>
        {
            public static ref ListLinks<Entry> Of(Entry node) => ref node.ScopeLinks;
        }

        public readonly struct ByCompletion : IListLinks<Entry>
        {
            public static ref ListLinks<Entry> Of(Entry node) => ref node.CompletedLinks;
        }

        public readonly struct BySecond : IListLinks<Entry>
        {
            public static ref ListLinks<Entry> Of(Entry node) => ref node.SecondLinks;
        }
    }
}
