using static Idempotency.Core.Tests.InMemory.InMemoryStoreDriver;

namespace Idempotency.Core.Tests.InMemory;

/// <summary>What a full store does with <see cref="InMemoryStoreFullBehavior.EvictOldestCompleted"/>, the default.</summary>
public sealed class InMemoryStoreEvictionTests
{
    private const string Service = "service";
    private readonly InMemoryStoreDriver _driver = new();

    [Fact]
    public async Task FullStore_EvictsTheOldestCompletedRecord_ToAdmitANewKey()
    {
        // Regression: a full store refused every new key (503) until records expired, up to the 24 h retention.
        var store = _driver.Create(new() { MaxEntries = 3, MaxScopeShare = 1 });
        for (var i = 0; i < 3; i++)
        {
            await ClaimAndCompleteAsync(store, Service, Key(Service, i));
            _driver.Time.Advance(TimeSpan.FromSeconds(1));
        }

        await ClaimAsync(store, Service, Key(Service, 3));

        Assert.Equal(3, store.Count);
        Assert.True(await ReplaysAsync(store, Service, Key(Service, 1)));
        Assert.True(await ReplaysAsync(store, Service, Key(Service, 2)));
        Assert.False(await ReplaysAsync(store, Service, Key(Service, 0)));
    }

    [Fact]
    public async Task Eviction_FollowsCompletionTime_NotClaimTime()
    {
        var store = _driver.Create(new() { MaxEntries = 2, MaxScopeShare = 1 });
        var first = await ClaimAsync(store, Service, Key(Service, 0));
        var second = await ClaimAsync(store, Service, Key(Service, 1));
        await store.CompleteAsync(new IdempotencyCompleteRequest(Key(Service, 1), second, new byte[1], TimeSpan.FromHours(1)), default);
        _driver.Time.Advance(TimeSpan.FromSeconds(1));
        await store.CompleteAsync(new IdempotencyCompleteRequest(Key(Service, 0), first, new byte[1], TimeSpan.FromHours(1)), default);

        await ClaimAsync(store, Service, Key(Service, 2));

        Assert.True(await ReplaysAsync(store, Service, Key(Service, 0)));
        Assert.False(await ReplaysAsync(store, Service, Key(Service, 1)));
    }

    [Fact]
    public async Task FullStore_NeverEvictsARecordInFlight_AndRefusesWhenOnlySuchRecordsRemain()
    {
        var store = _driver.Create(new() { MaxEntries = 3, MaxScopeShare = 1 });
        await ClaimAsync(store, Service, Key(Service, 0));
        await ClaimAndCompleteAsync(store, Service, Key(Service, 1));
        await ClaimAsync(store, Service, Key(Service, 2));

        await ClaimAsync(store, Service, Key(Service, 3)); // evicts the one completed record
        var error = await Assert.ThrowsAsync<IdempotencyStoreCapacityExceededException>(() => ClaimAsync(store, Service, Key(Service, 4)));

        Assert.Contains("in flight", error.Message, StringComparison.Ordinal);
        Assert.Contains("MaxEntries", error.Message, StringComparison.Ordinal);
        foreach (var i in (int[])[0, 2, 3])
        {
            Assert.Equal(ClaimStatus.InFlight, (await store.ClaimAsync(Request(Service, Key(Service, i)), default)).Status);
        }
    }

    [Fact]
    public async Task ByteLimit_EvictsAsManyOldestCompletedRecordsAsTheNewKeyNeeds()
    {
        var probe = _driver.Create(new());
        await ClaimAsync(probe, Service, Key(Service, 0));
        var recordSize = probe.Bytes; // every key below has the same length
        var store = _driver.Create(new() { MaxBytes = (3 * recordSize) + 10, MaxScopeShare = 1 });
        await ClaimAndCompleteAsync(store, Service, Key(Service, 0));
        await ClaimAndCompleteAsync(store, Service, Key(Service, 1));
        await ClaimAndCompleteAsync(store, Service, Key(Service, 2), payloadSize: (int)recordSize - 5); // completion is never refused

        await ClaimAsync(store, Service, Key(Service, 3));

        Assert.Equal(2, store.Count);
        Assert.InRange(store.Bytes, 0, (3 * recordSize) + 10);
        Assert.True(await ReplaysAsync(store, Service, Key(Service, 2)));
    }

    [Fact]
    public async Task SingleScopeService_UnderSustainedLoad_KeepsClaiming_WithinItsLimits()
    {
        // Regression: about MaxEntries keyed requests filled the store, and every keyed write then got 503 for up to 24 h.
        const int maxEntries = 1_000;
        const long maxBytes = 500_000;
        const int payload = 100;
        var store = _driver.Create(new() { MaxEntries = maxEntries, MaxBytes = maxBytes }); // the default share of 0.1
        for (var i = 0; i < 20_000; i++)
        {
            await ClaimAndCompleteAsync(store, Service, Key(Service, i), payload);
            Assert.InRange(store.Count, 1, maxEntries);
            Assert.InRange(store.Bytes, 1, maxBytes + payload); // a claim fits; its completion may add its payload on top
            if (i % 100 == 0)
            {
                _driver.Time.Advance(TimeSpan.FromSeconds(1));
            }
        }

        Assert.True(await ReplaysAsync(store, Service, Key(Service, 19_999)));
        Assert.True(await ReplaysAsync(store, Service, Key(Service, 19_500)));
        Assert.False(await ReplaysAsync(store, Service, Key(Service, 0)));
        Assert.Equal(1, store.ScopeCount);
    }

    [Fact]
    public async Task FullStore_EvictsInConstantWork_WithoutExaminingTheRecordsItKeeps()
    {
        var store = _driver.Create(new() { MaxEntries = 10_000, MaxBytes = long.MaxValue, MaxScopeShare = 1 });
        for (var i = 0; i < 10_000; i++)
        {
            await ClaimAndCompleteAsync(store, Service, Key(Service, i));
        }

        for (var i = 10_000; i < 12_000; i++)
        {
            await ClaimAndCompleteAsync(store, Service, Key(Service, i));
        }

        Assert.Equal(10_000, store.Count);
        Assert.Equal(0, store.ExpiryChecks); // nothing expired, and eviction never walks the schedule or the dictionary
        Assert.True(await ReplaysAsync(store, Service, Key(Service, 2_000)));
        Assert.False(await ReplaysAsync(store, Service, Key(Service, 1_999)));
    }

    [Fact]
    public async Task FullStore_RemovesExpiredRecordsBeforeItEvictsLiveOnes()
    {
        var store = _driver.Create(new() { MaxEntries = 3, MaxScopeShare = 1 });
        await ClaimAndCompleteAsync(store, Service, Key(Service, 0), retention: TimeSpan.FromHours(1));
        await ClaimAndCompleteAsync(store, Service, Key(Service, 1), retention: TimeSpan.FromSeconds(10));
        await ClaimAndCompleteAsync(store, Service, Key(Service, 2), retention: TimeSpan.FromHours(1));
        _driver.Time.Advance(TimeSpan.FromSeconds(11));

        await ClaimAsync(store, Service, Key(Service, 3));

        Assert.True(await ReplaysAsync(store, Service, Key(Service, 0))); // the oldest completed survives: the expired one made room
        Assert.True(await ReplaysAsync(store, Service, Key(Service, 2)));
    }
}
