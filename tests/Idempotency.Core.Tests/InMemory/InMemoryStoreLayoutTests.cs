using System.Diagnostics;
using System.Globalization;
using static Idempotency.Core.Tests.InMemory.InMemoryStoreDriver;

namespace Idempotency.Core.Tests.InMemory;

/// <summary>
/// The store's layout: records out of the garbage collector's way, copies in and out, an index that stays right
/// through every kind of removal.
/// </summary>
public sealed class InMemoryStoreLayoutTests
{
    private const string Service = "service";
    private readonly InMemoryStoreDriver _driver = new();

    [Fact]
    public async Task Complete_CopiesThePayload_SoTheCallerMayReuseItsBuffer()
    {
        using var store = _driver.Create(new());
        var key = Key(Service, 1);
        var owner = await ClaimAsync(store, Service, key);
        var buffer = "original"u8.ToArray();
        await store.CompleteAsync(new IdempotencyCompleteRequest(key, owner, buffer, TimeSpan.FromHours(1)), default);

        "reused!!"u8.CopyTo(buffer); // a pooled buffer, handed to the next request
        var replay = await store.ClaimAsync(Request(Service, key), default);

        Assert.Equal(ClaimStatus.Completed, replay.Status);
        Assert.Equal("original"u8.ToArray(), replay.Payload.ToArray());
    }

    [Fact]
    public async Task Claim_CopiesTheFingerprint_SoTheCallerMayReuseItsBuffer()
    {
        using var store = _driver.Create(new());
        var key = Key(Service, 1);
        var fingerprint = Enumerable.Repeat((byte)7, 32).ToArray();
        await store.ClaimAsync(new IdempotencyClaimRequest(key, fingerprint, "owner", TimeSpan.FromMinutes(1), Service), default);

        var original = fingerprint.ToArray();
        fingerprint.AsSpan().Fill(9);
        var sameRequest = await store.ClaimAsync(new IdempotencyClaimRequest(key, original, "other", TimeSpan.FromMinutes(1), Service), default);
        var otherRequest = await store.ClaimAsync(new IdempotencyClaimRequest(key, fingerprint, "other", TimeSpan.FromMinutes(1), Service), default);

        Assert.Equal(ClaimStatus.InFlight, sameRequest.Status);
        Assert.Equal(ClaimStatus.FingerprintMismatch, otherRequest.Status);
    }

    [Fact]
    public async Task ReplayedPayload_StaysValid_AfterItsRecordIsEvictedAndItsKeyCompletedAgain()
    {
        using var store = _driver.Create(new() { MaxEntries = 2, MaxScopeShare = 1 });
        var key = Key(Service, 0);
        await CompleteWithAsync(store, key, "first payload"u8.ToArray());
        var replay = await store.ClaimAsync(Request(Service, key), default);

        for (var i = 1; i < 10; i++)
        {
            await CompleteWithAsync(store, Key(Service, i), Enumerable.Repeat((byte)i, 64).ToArray()); // evicts the first record
        }

        await CompleteWithAsync(store, key, "second payload, longer"u8.ToArray());

        Assert.Equal("first payload"u8.ToArray(), replay.Payload.ToArray());
        Assert.Equal("second payload, longer"u8.ToArray(), (await store.ClaimAsync(Request(Service, key), default)).Payload.ToArray());
    }

    [Fact]
    public void NewKeys_InAFullStore_AllocateNoManagedMemoryPerRecordHeld()
    {
        // Regression: every record was several heap objects (the entry, its key, owner token, fingerprint and payload
        // arrays kept by reference), which the garbage collector traced on every full collection, so the cost of a new
        // key and every collection grew with the records held. Held records now allocate nothing on the managed heap:
        // a new key in a full store allocates only its claim's result.
        using var store = _driver.Create(new() { MaxEntries = 1_000, MaxBytes = long.MaxValue, MaxScopeShare = 1 });
        var payload = new byte[200];
        var requests = Enumerable.Range(0, 3_000)
            .Select(i => (Claim: Request(Service, Key(Service, i)), Payload: payload))
            .ToArray();
        var completions = requests
            .Select(r => new IdempotencyCompleteRequest(r.Claim.Key, r.Claim.OwnerToken, r.Payload, TimeSpan.FromHours(1)))
            .ToArray();
        var done = 0;
        for (var i = 0; i < 2_000; i++)
        {
            done += ClaimAndComplete(store, requests[i].Claim, completions[i]); // fills the store, then evicts: every structure at its size
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 2_000; i < 3_000; i++)
        {
            done += ClaimAndComplete(store, requests[i].Claim, completions[i]);
        }

        var perNewKey = (GC.GetAllocatedBytesForCurrentThread() - before) / 1_000;
        Assert.Equal(3_000, done);
        Assert.Equal(1_000, store.Count);
        Assert.InRange(perNewKey, 0, 64); // the Claimed result (40 bytes); the old store added an entry of about 200
    }

    [Fact]
    public async Task Index_StaysRight_ThroughClaimsCompletionsReleasesEvictionsAndExpiry_OfManyKeys()
    {
        // Every removal moves index slots back (open addressing without tombstones): a model of the store says what
        // each key must answer after thousands of random operations on keys whose slots collide.
        using var store = _driver.Create(new() { MaxEntries = 100_000, MaxBytes = long.MaxValue, MaxScopeShare = 1 });
        var random = new Random(16);
        var model = new Dictionary<string, (string? Owner, byte[]? Payload)>();
        for (var step = 0; step < 40_000; step++)
        {
            var key = Key(Service, random.Next(3_000));
            model.TryGetValue(key, out var expected);
            var request = Request(Service, key);
            var result = await store.ClaimAsync(request, default);
            if (expected.Owner is null && expected.Payload is null)
            {
                Assert.Equal(ClaimStatus.Claimed, result.Status);
                if (random.Next(3) == 0)
                {
                    Assert.True(await store.ReleaseAsync(key, request.OwnerToken, default));
                }
                else if (random.Next(2) == 0)
                {
                    var payload = Encoding(step);
                    await store.CompleteAsync(new IdempotencyCompleteRequest(key, request.OwnerToken, payload, TimeSpan.FromHours(1)), default);
                    model[key] = (null, payload);
                }
                else
                {
                    model[key] = (request.OwnerToken, null);
                }
            }
            else if (expected.Payload is not null)
            {
                Assert.Equal(ClaimStatus.Completed, result.Status);
                Assert.Equal(expected.Payload, result.Payload.ToArray());
            }
            else
            {
                Assert.Equal(ClaimStatus.InFlight, result.Status);
            }
        }

        Assert.Equal(model.Count, store.Count);
        _driver.Time.Advance(TimeSpan.FromHours(2)); // every lease, grace and retention has ended
        store.RemoveExpiredRecords();
        Assert.Equal(0, store.Count);
        Assert.Equal(0, store.Bytes);
        foreach (var key in model.Keys)
        {
            Assert.Equal(ClaimStatus.Claimed, (await store.ClaimAsync(Request(Service, key), default)).Status);
        }
    }

    [Fact]
    public async Task AClaimCounts_128Bytes_BesidesItsKeyAndFingerprint_AndACompletionItsPayload()
    {
        // What docs/configuration.md and docs/performance.md say a record costs: its struct, two index slots, its
        // block's rounding up to a size class of the store's heap.
        using var store = _driver.Create(new());
        var key = Key(Service, 1);
        var owner = await ClaimAsync(store, Service, key);
        var claimed = store.Bytes;
        await store.CompleteAsync(new IdempotencyCompleteRequest(key, owner, new byte[200], TimeSpan.FromHours(1)), default);

        Assert.Equal(128 + (key.Length * sizeof(char)) + Fingerprint.Length, claimed);
        Assert.Equal(claimed + 200, store.Bytes);
    }

    [Fact]
    public async Task PayloadsOfEverySize_ReplayByteForByte_ThroughEvictionsThatReuseTheirMemory()
    {
        // The heap moves a record's block when its payload replaces its owner token (to another size class, or out of
        // the slabs past 16 KiB) and reuses every evicted record's block: the last records completed, each with its own
        // random bytes, must replay exactly those bytes, however their memory was handed around before.
        const int Held = 300;
        using var store = _driver.Create(new() { MaxEntries = Held, MaxBytes = long.MaxValue, MaxScopeShare = 1 });
        var random = new Random(25);
        var completed = new List<(string Key, byte[] Payload)>();
        for (var i = 0; i < 3_000; i++)
        {
            var key = Key(Service, i) + new string('k', random.Next(200)); // in-flight blocks of many classes too
            var payload = new byte[random.Next(10) == 0 ? random.Next(16_000, 40_000) : random.Next(0, 3_000)];
            random.NextBytes(payload);
            await CompleteWithAsync(store, key, payload);
            completed.Add((key, payload));
        }

        Assert.Equal(Held, store.Count);
        foreach (var (key, payload) in completed.TakeLast(Held))
        {
            var replay = await store.ClaimAsync(Request(Service, key), default);
            Assert.Equal(ClaimStatus.Completed, replay.Status);
            Assert.Equal(payload, replay.Payload.ToArray());
        }
    }

    [Fact]
    public async Task TheNextIndex_IsPreparedOffTheLock_AndTakenByTheDoubling()
    {
        // A store growing past millions of records doubled its index under the lock, and the kernel mapped every page
        // of the new one there: every claim waited (1.2 s at 6.3 million records on the benchmark machine). A claim that
        // finds the index half full now has a thread-pool thread prepare the next one, which the doubling takes.
        using var store = _driver.Create(new() { MaxEntries = 1_000_000, MaxBytes = long.MaxValue, MaxScopeShare = 1 });
        var i = 0;
        while (store.IndexSlots < 1 << 16 || store.Count <= store.IndexSlots / 2)
        {
            await ClaimAsync(store, Service, Key(Service, i++));
        }

        var slots = store.IndexSlots;
        await ClaimAsync(store, Service, Key(Service, i++)); // a claim that finds the index half full
        var waited = Stopwatch.StartNew();
        while (!store.HoldsNextIndex && waited.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(10);
        }

        Assert.True(store.HoldsNextIndex, "no next index was prepared");
        while (store.IndexSlots == slots)
        {
            await ClaimAsync(store, Service, Key(Service, i++));
        }

        Assert.Equal(slots * 2, store.IndexSlots);
        Assert.False(store.HoldsNextIndex); // taken by the doubling, not allocated anew beside it
        for (var k = 0; k < i; k++)
        {
            Assert.Equal(ClaimStatus.InFlight, (await store.ClaimAsync(Request(Service, Key(Service, k)), default)).Status);
        }
    }

    [Fact]
    public async Task DisposedStore_RefusesEveryCall()
    {
        var store = _driver.Create(new());
        var owner = await ClaimAsync(store, Service, Key(Service, 1));

        store.Dispose();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.ClaimAsync(Request(Service, Key(Service, 1)), default).AsTask());
        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.CompleteAsync(new IdempotencyCompleteRequest(Key(Service, 1), owner, new byte[1], TimeSpan.FromHours(1)), default).AsTask());
        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.ReleaseAsync(Key(Service, 1), owner, default).AsTask());
    }

    private static byte[] Encoding(int step) => System.Text.Encoding.UTF8.GetBytes("payload " + step.ToString(CultureInfo.InvariantCulture));

    // 1 when the key was claimed and completed; no assertion inside, so the measured loop allocates only what the store does.
    private static int ClaimAndComplete(InMemoryIdempotencyStore store, IdempotencyClaimRequest claim, IdempotencyCompleteRequest completion) =>
        store.ClaimAsync(claim, default).GetAwaiter().GetResult().Status == ClaimStatus.Claimed
        && store.CompleteAsync(completion, default).GetAwaiter().GetResult() == CompletionStatus.Completed ? 1 : 0;

    private static async Task CompleteWithAsync(InMemoryIdempotencyStore store, string key, byte[] payload)
    {
        var owner = await ClaimAsync(store, Service, key);
        Assert.Equal(CompletionStatus.Completed, await store.CompleteAsync(new IdempotencyCompleteRequest(key, owner, payload, TimeSpan.FromHours(1)), default));
    }
}
