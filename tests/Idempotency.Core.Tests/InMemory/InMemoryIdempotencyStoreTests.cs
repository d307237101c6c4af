using System.Globalization;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Idempotency.Core.Tests.InMemory;

public sealed class InMemoryIdempotencyStoreTests
{
    private static readonly byte[] s_fingerprint = new byte[32];
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", CultureInfo.InvariantCulture));

    [Fact]
    public void Options_HaveDocumentedDefaults()
    {
        var options = new InMemoryIdempotencyStoreOptions();

        Assert.Equal(100_000, options.MaxEntries);
        Assert.Equal(256L * 1024 * 1024, options.MaxBytes);
    }

    [Fact]
    public async Task Claim_Throws_WhenMaxEntriesReached_AndEvictsNothing()
    {
        var store = CreateStore(new() { MaxEntries = 2 });
        await ClaimAsync(store, "a");
        await ClaimAsync(store, "b");

        var error = await Assert.ThrowsAsync<IdempotencyStoreCapacityExceededException>(() => ClaimAsync(store, "c"));

        Assert.Contains("MaxEntries", error.Message, StringComparison.Ordinal);
        Assert.Equal(2, store.Count);
        Assert.Equal(ClaimStatus.InFlight, (await store.ClaimAsync(Request("a"), default)).Status);
    }

    [Fact]
    public async Task Claim_Throws_WhenMaxBytesReached()
    {
        var store = CreateStore(new() { MaxBytes = 1_000 });
        var owner = await ClaimAsync(store, "a");
        await store.CompleteAsync(new IdempotencyCompleteRequest("a", owner, new byte[900], TimeSpan.FromHours(1)), default);

        await Assert.ThrowsAsync<IdempotencyStoreCapacityExceededException>(() => ClaimAsync(store, "b"));
    }

    [Fact]
    public async Task Claim_MakesRoomFromExpiredRecords_WhenFull()
    {
        var store = CreateStore(new() { MaxEntries = 1 });
        await store.ClaimAsync(new IdempotencyClaimRequest("a", s_fingerprint, "owner", TimeSpan.FromSeconds(5)), default);
        _time.Advance(TimeSpan.FromSeconds(6));

        await ClaimAsync(store, "b");

        Assert.Equal(1, store.Count);
    }

    [Fact]
    public async Task FullStore_RefusesClaimsWithoutScanningItsRecordsEachTime()
    {
        // Regression: a full store used to scan every record on every refused claim, under its lock.
        var store = CreateStore(new() { MaxEntries = 100 });
        for (var i = 0; i < 100; i++)
        {
            await ClaimAsync(store, "live-" + i.ToString(CultureInfo.InvariantCulture));
        }

        for (var i = 0; i < 1_000; i++)
        {
            await Assert.ThrowsAsync<IdempotencyStoreCapacityExceededException>(() => ClaimAsync(store, "refused-" + i.ToString(CultureInfo.InvariantCulture)));
        }

        Assert.Equal(0, store.ExpiryChecks);
        _time.Advance(TimeSpan.FromMinutes(2)); // every lease has ended: claims succeed again and remove them as they go
        for (var i = 0; i < 10; i++)
        {
            await ClaimAsync(store, "after-expiry-" + i.ToString(CultureInfo.InvariantCulture));
        }

        Assert.Equal(100, store.ExpiryChecks); // each expired record examined once, in all
        Assert.Equal(10, store.Count);
    }

    [Fact]
    public async Task ExpiryWork_IsProportionalToTheRecordsThatExpire_NotToTheRecordsHeld()
    {
        // Regression: the store used to scan every record every 30 seconds once any had expired, under its lock.
        var store = CreateStore(new() { MaxEntries = 1_000_000, MaxBytes = long.MaxValue });
        for (var i = 0; i < 10_000; i++)
        {
            var key = "kept-" + i.ToString(CultureInfo.InvariantCulture);
            var owner = await ClaimAsync(store, key);
            await store.CompleteAsync(new IdempotencyCompleteRequest(key, owner, new byte[1], TimeSpan.FromHours(24)), default);
        }

        for (var i = 0; i < 10; i++)
        {
            await store.ClaimAsync(new IdempotencyClaimRequest("short-" + i.ToString(CultureInfo.InvariantCulture), s_fingerprint, "o", TimeSpan.FromSeconds(5)), default);
        }

        var checksBefore = store.ExpiryChecks;
        _time.Advance(TimeSpan.FromMinutes(30)); // the short leases and the kept records' leases (now completed) are due
        for (var i = 0; i < 2_000; i++)
        {
            await ClaimAsync(store, "later-" + i.ToString(CultureInfo.InvariantCulture));
        }

        Assert.Equal(0, checksBefore);
        Assert.Equal(10_000 + 2_000, store.Count); // the 10 short claims are gone, every completed record is kept
        Assert.Equal(10 + 10_000, store.ExpiryChecks); // each due lease examined once; the completed records' retention is not due
        Assert.Equal(ClaimStatus.Completed, (await store.ClaimAsync(new IdempotencyClaimRequest("kept-0", s_fingerprint, "x", TimeSpan.FromMinutes(1)), default)).Status);
    }

    [Fact]
    public async Task Complete_IsNeverRefused_EvenOverTheByteLimit()
    {
        var store = CreateStore(new() { MaxBytes = 1_000 });
        var owner = await ClaimAsync(store, "a");

        var status = await store.CompleteAsync(new IdempotencyCompleteRequest("a", owner, new byte[10_000], TimeSpan.FromHours(1)), default);

        Assert.Equal(CompletionStatus.Completed, status);
    }

    [Fact]
    public async Task Bytes_ReturnToZero_WhenRecordsAreReleasedOrExpire()
    {
        var store = CreateStore(new());
        var a = await ClaimAsync(store, "a");
        var b = await ClaimAsync(store, "b");
        await store.CompleteAsync(new IdempotencyCompleteRequest("b", b, new byte[500], TimeSpan.FromSeconds(10)), default);
        Assert.True(store.Bytes > 500);

        await store.ReleaseAsync("a", a, default);
        _time.Advance(TimeSpan.FromSeconds(11));
        await ClaimAsync(store, "b"); // expired: the key is free, and its bytes are no longer counted

        Assert.Equal(1, store.Count);
        Assert.True(store.Bytes < 500, $"Expected only the new claim to be counted, but {store.Bytes} bytes are.");
    }

    [Fact]
    public async Task BytesPerCompletedRecord_StayWithinTwiceTheKeyAndBody()
    {
        var store = CreateStore(new());
        var key = IdempotencyStorageKey.Create("alice", Guid.NewGuid().ToString());
        var owner = await ClaimAsync(store, key);
        var body = new byte[1_024];

        await store.CompleteAsync(new IdempotencyCompleteRequest(key, owner, body, TimeSpan.FromHours(1)), default);

        var keyAndBody = (key.Length * sizeof(char)) + body.Length;
        Assert.InRange(store.Bytes, keyAndBody, 2 * keyAndBody);
    }

    [Fact]
    public async Task FloodOfDistinctKeys_StaysWithinTheConfiguredBound()
    {
        var store = CreateStore(new() { MaxEntries = 1_000, MaxBytes = 200_000 });
        var refused = 0;
        for (var i = 0; i < 5_000; i++)
        {
            try
            {
                await ClaimAsync(store, "flood-" + i.ToString(CultureInfo.InvariantCulture));
            }
            catch (IdempotencyStoreCapacityExceededException)
            {
                refused++;
            }
        }

        Assert.True(store.Count <= 1_000);
        Assert.True(store.Bytes <= 200_000);
        Assert.True(refused >= 4_000, $"Expected the store to refuse claims once full, but it refused {refused}.");
    }

    private InMemoryIdempotencyStore CreateStore(InMemoryIdempotencyStoreOptions options) => new(Options.Create(options), _time);

    private static IdempotencyClaimRequest Request(string key) => new(key, s_fingerprint, Guid.NewGuid().ToString("N"), TimeSpan.FromMinutes(1));

    private static async Task<string> ClaimAsync(InMemoryIdempotencyStore store, string key)
    {
        var request = Request(key);
        var result = await store.ClaimAsync(request, default);
        Assert.Equal(ClaimStatus.Claimed, result.Status);
        return request.OwnerToken;
    }
}
