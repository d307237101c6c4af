using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Idempotency;

/// <summary>
/// The default store: records held out of the garbage collector's way (see the <c>Records</c> part) under one lock,
/// expired by <see cref="TimeProvider"/>, bounded by <see cref="InMemoryIdempotencyStoreOptions"/>. Each operation is
/// atomic because it runs entirely under the lock.
/// </summary>
/// <remarks>
/// <para>
/// Expired records are found through an expiry schedule, never by scanning the records: each record is filed under
/// the second it expires (its lease end plus the grace period while in flight, its retention end once completed), and
/// each claim removes a few of the records that are due (all of them when the store is full). The work under the lock
/// stays proportional to the records that expire, however many live ones the store holds (see the <c>Expiry</c> part).
/// </para>
/// <para>
/// A full store makes room by evicting completed records, oldest first, from the scopes over their share first (see
/// the <c>Capacity</c> part). Every list a record is on (its expiry second, its scope, the completed records by age)
/// is linked through the record itself by record numbers, so filing, evicting and removing a record are constant work
/// and allocate nothing.
/// </para>
/// <para>
/// The store copies what it keeps (the fingerprint, the owner token, the payload) and what it gives back (a replay's
/// payload is a new array): a caller may reuse its buffers at once, and a payload returned stays valid after its
/// record is evicted, expires or is replaced.
/// </para>
/// </remarks>
internal sealed partial class InMemoryIdempotencyStore : IIdempotencyStore, IDisposable
{
    /// <summary>The store's name in telemetry, also the store tag of its own instruments.</summary>
    public const string StoreName = "inmemory";

    // How many due records one claim examines: more than the one each request files, so removal keeps up.
    private const int ExpiryChecksPerClaim = 16;

    private readonly Lock _lock = new();
    private readonly TimeProvider _timeProvider;
    private readonly InMemoryIdempotencyStoreOptions _options;
    private readonly long _leaseGracePeriod;
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
        _leaseGracePeriod = _options.LeaseGracePeriod.Ticks;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _metrics = meterFactory is null ? null : new InMemoryStoreMetrics(meterFactory);
        _nextDueSecond = SecondOf(timeProvider.GetUtcNow().UtcTicks);
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
                return _count;
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
        var now = _timeProvider.GetUtcNow().UtcTicks;
        var hash = HashOf(request.Key);
        var evictions = default(Evictions);
        IdempotencyStoreException? refusal;
        IdempotencyClaimResult? result = null;
        // While the store grows: what the kernel takes long to map (the next huge-page slab, once per 2 MiB of records;
        // the next index, once per doubling) is prepared on a thread-pool thread, so that no request waits for it.
        if (_heap.WantsSpareSlab)
        {
            _heap.QueueSpareSlabPreparation();
        }

        if (WantsNextIndex)
        {
            QueueNextIndexPreparation();
        }

        lock (_lock)
        {
            ThrowIfDisposed();
            RemoveExpired(now, ExpiryChecksPerClaim);
            var existing = Find(request.Key, hash);
            if (existing != 0)
            {
                ref var record = ref At(existing);
                if (record.ExpiresAt > now)
                {
                    return ValueTask.FromResult(Existing(in record, request.Fingerprint.Span, now));
                }

                Remove(existing); // an ended lease (even within its grace) or retention: the key is free again
            }

            var size = EntryOverheadBytes + (request.Key.Length * sizeof(char)) + request.Fingerprint.Length;
            _scopeIds.TryGetValue(request.Scope, out var scope);
            refusal = MakeRoom(scope, size, now, ref evictions);
            if (refusal is null)
            {
                scope = AttachScope(request.Scope, scope);
                var claimed = AddRecord(request.Key, hash, request.Fingerprint.Span, request.OwnerToken);
                ref var record = ref At(claimed);
                record.ExpiresAt = now + request.LeaseDuration.Ticks;
                record.Size = size;
                record.Scope = scope;
                _bytes += size;
                ref var usage = ref ScopeAt(scope);
                usage.Link(this, claimed, completed: false);
                usage.Count++;
                usage.Bytes += size;
                UpdateShare(scope);
                Schedule(claimed, record.ExpiresAt + _leaseGracePeriod);
                result = IdempotencyClaimResult.Claimed(new DateTimeOffset(record.ExpiresAt, TimeSpan.Zero));
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
        var now = _timeProvider.GetUtcNow().UtcTicks;
        lock (_lock)
        {
            ThrowIfDisposed();
            if (!TryGetOwnedClaim(request.Key, request.OwnerToken, now, out var claimed))
            {
                return ValueTask.FromResult(CompletionStatus.ClaimLost);
            }

            ref var record = ref At(claimed);
            ref var usage = ref ScopeAt(record.Scope);
            usage.Unlink(this, claimed, completed: false); // from the scope's records in flight...
            StorePayload(ref record, request.Payload.Span); // a copy: the caller may reuse its buffer
            record.IsCompleted = true;
            record.CompletedAt = now;
            record.ExpiresAt = now + request.Retention.Ticks;
            record.Size += record.PayloadLength;
            usage.Link(this, claimed, completed: true); // ...to its completed ones
            usage.Bytes += record.PayloadLength;
            _bytes += record.PayloadLength;
            _completed.AddLast(this, claimed);
            UpdateShare(record.Scope);
            Unschedule(claimed);
            Schedule(claimed, record.ExpiresAt);
            return ValueTask.FromResult(CompletionStatus.Completed);
        }
    }

    public ValueTask<bool> ReleaseAsync(string key, string ownerToken, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(ownerToken);
        var now = _timeProvider.GetUtcNow().UtcTicks;
        lock (_lock)
        {
            ThrowIfDisposed();
            if (!TryGetOwnedClaim(key, ownerToken, now, out var claimed))
            {
                return ValueTask.FromResult(false);
            }

            Remove(claimed);
            return ValueTask.FromResult(true);
        }
    }

    private static IdempotencyClaimResult Existing(in Record record, ReadOnlySpan<byte> fingerprint, long now)
    {
        if (!FingerprintOf(record).SequenceEqual(fingerprint))
        {
            return IdempotencyClaimResult.FingerprintMismatch();
        }

        return record.IsCompleted
            ? IdempotencyClaimResult.Completed(PayloadOf(record).ToArray()) // a copy: valid after the record is gone
            : IdempotencyClaimResult.InFlight(TimeSpan.FromTicks(record.ExpiresAt - now));
    }

    // An owner keeps its claim past the lease, for the grace period, as long as nobody else has claimed the key: the
    // work is done either way, and recording it is better than letting a retry run it again.
    private bool TryGetOwnedClaim(string key, string ownerToken, long now, out int claimed)
    {
        claimed = Find(key, HashOf(key));
        if (claimed == 0)
        {
            return false;
        }

        ref var record = ref At(claimed);
        if (record.IsCompleted || !OwnerOf(record).SequenceEqual(ownerToken))
        {
            return false;
        }

        if (RemovableAt(in record) <= now)
        {
            Remove(claimed); // past its grace: forgotten, even if the expiry schedule has not come to it yet
            return false;
        }

        return true;
    }

    // When a record may be deleted: the retention end once completed, the lease end plus the grace while in flight.
    private long RemovableAt(in Record record) => record.IsCompleted ? record.ExpiresAt : record.ExpiresAt + _leaseGracePeriod;

    private void Remove(int number)
    {
        ref var record = ref At(number);
        _bytes -= record.Size;
        Unschedule(number);
        if (record.IsCompleted)
        {
            _completed.Remove(this, number);
        }

        var scope = record.Scope;
        ref var usage = ref ScopeAt(scope);
        usage.Unlink(this, number, record.IsCompleted);
        usage.Count--;
        usage.Bytes -= record.Size;
        DeleteRecord(number);
        UpdateShare(scope);
        if (usage.Count == 0)
        {
            ReleaseScope(scope);
        }
    }
}
