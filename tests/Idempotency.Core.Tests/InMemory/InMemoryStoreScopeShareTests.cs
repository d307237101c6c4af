using static Idempotency.Core.Tests.InMemory.InMemoryStoreDriver;

namespace Idempotency.Core.Tests.InMemory;

/// <summary>Each scope's share of the store (<see cref="InMemoryIdempotencyStoreOptions.MaxScopeShare"/>).</summary>
public sealed class InMemoryStoreScopeShareTests
{
    private readonly InMemoryStoreDriver _driver = new();

    [Fact]
    public async Task FloodOfFreshKeysFromOneScope_NeverFailsAnotherScopesClaim_NorEvictsItsRecords()
    {
        // Regression: one caller sending MaxEntries fresh keys filled the store, and every caller's keyed write then got 503.
        const int maxEntries = 1_000;
        var store = _driver.Create(new() { MaxEntries = maxEntries }); // the default share: 100 records a scope
        var honest = new List<(string Scope, string Key)>();
        for (var i = 0; i < 20; i++)
        {
            await ClaimAndCompleteAsync(store, "alice", Key("alice", i));
            honest.Add(("alice", Key("alice", i)));
        }

        for (var i = 0; i < 20_000; i++)
        {
            await ClaimAndCompleteAsync(store, "mallory", Key("mallory", i), payloadSize: 200); // never refused: it evicts its own
            if (i % 400 == 0)
            {
                foreach (var scope in (string[])["alice", "bob"])
                {
                    var key = Key(scope, 1_000 + i);
                    await ClaimAndCompleteAsync(store, scope, key); // asserts the claim succeeds
                    honest.Add((scope, key));
                }
            }

            Assert.InRange(store.Count, 1, maxEntries);
        }

        foreach (var (scope, key) in honest)
        {
            Assert.True(await ReplaysAsync(store, scope, key), "A record of a scope within its share was evicted while another scope flooded.");
        }

        Assert.True(await ReplaysAsync(store, "mallory", Key("mallory", 19_999)));
        Assert.Equal(maxEntries - honest.Count, store.ScopeUsageOf("mallory").Records); // the flood keeps the room nobody else needs
    }

    [Fact]
    public async Task ScopeOverItsShare_EvictsItsOwnOldestRecords_EvenWhenOtherScopesHoldOlderOnes()
    {
        var store = _driver.Create(new() { MaxEntries = 10, MaxScopeShare = 0.2 });
        await ClaimAndCompleteAsync(store, "alice", Key("alice", 0));
        await ClaimAndCompleteAsync(store, "alice", Key("alice", 1));
        for (var i = 0; i < 8; i++)
        {
            await ClaimAndCompleteAsync(store, "mallory", Key("mallory", i));
        }

        for (var i = 8; i < 11; i++)
        {
            await ClaimAndCompleteAsync(store, "mallory", Key("mallory", i));
        }

        Assert.Equal(10, store.Count);
        Assert.True(await ReplaysAsync(store, "alice", Key("alice", 0)));
        Assert.True(await ReplaysAsync(store, "alice", Key("alice", 1)));
        Assert.True(await ReplaysAsync(store, "mallory", Key("mallory", 3)));
        Assert.False(await ReplaysAsync(store, "mallory", Key("mallory", 2)));
    }

    [Fact]
    public async Task ClaimerWithinItsShare_EvictsFromTheScopeMostOverItsShare()
    {
        var store = _driver.Create(new() { MaxEntries = 10, MaxScopeShare = 0.2 }); // 2 records a scope
        for (var i = 0; i < 3; i++)
        {
            await ClaimAndCompleteAsync(store, "a", Key("a", i)); // the oldest records, 1.5 times a's share
        }

        for (var i = 0; i < 2; i++)
        {
            await ClaimAndCompleteAsync(store, "c", Key("c", i)); // exactly c's share
        }

        for (var i = 0; i < 5; i++)
        {
            await ClaimAndCompleteAsync(store, "b", Key("b", i)); // 2.5 times b's share
        }

        await ClaimAsync(store, "d", Key("d", 0));
        await ClaimAsync(store, "d", Key("d", 1)); // b still holds 2 times its share, a 1.5 times

        for (var i = 0; i < 3; i++)
        {
            Assert.True(await ReplaysAsync(store, "a", Key("a", i)));
        }

        Assert.True(await ReplaysAsync(store, "c", Key("c", 0)));
        Assert.True(await ReplaysAsync(store, "c", Key("c", 1)));
        Assert.True(await ReplaysAsync(store, "b", Key("b", 2)));
        Assert.Equal(3, store.ScopeUsageOf("b").Records);
    }

    [Fact]
    public async Task WhenNoScopeIsOverItsShare_TheOldestCompletedRecordIsEvicted()
    {
        var store = _driver.Create(new() { MaxEntries = 4, MaxScopeShare = 0.5 }); // 2 records a scope
        await ClaimAndCompleteAsync(store, "a", Key("a", 0));
        await ClaimAndCompleteAsync(store, "b", Key("b", 0));
        await ClaimAndCompleteAsync(store, "a", Key("a", 1));
        await ClaimAndCompleteAsync(store, "b", Key("b", 1));

        await ClaimAsync(store, "c", Key("c", 0));

        Assert.True(await ReplaysAsync(store, "b", Key("b", 0)));
        Assert.True(await ReplaysAsync(store, "a", Key("a", 1)));
        Assert.True(await ReplaysAsync(store, "b", Key("b", 1)));
        Assert.Equal(1, store.ScopeUsageOf("a").Records);
    }

    [Fact]
    public async Task WhileTheStoreHasRoom_AnyScopeMayHoldMoreThanItsShare()
    {
        var store = _driver.Create(new() { MaxEntries = 10, MaxScopeShare = 0.2 });

        for (var i = 0; i < 10; i++)
        {
            await ClaimAndCompleteAsync(store, "busy", Key("busy", i));
        }

        Assert.Equal(10, store.ScopeUsageOf("busy").Records);
        Assert.True(await ReplaysAsync(store, "busy", Key("busy", 0)));
    }

    [Fact]
    public async Task ScopeOverItsShare_WhoseRecordsAreAllInFlight_GetsQuotaExceeded_WithItsOldestLeasesRemainingTime()
    {
        var store = _driver.Create(new() { MaxEntries = 10, MaxScopeShare = 0.2 });
        await ClaimAndCompleteAsync(store, "alice", Key("alice", 0));
        await ClaimAndCompleteAsync(store, "alice", Key("alice", 1));
        for (var i = 0; i < 8; i++)
        {
            await ClaimAsync(store, "mallory", Key("mallory", i)); // 1-minute leases, never completed
        }

        _driver.Time.Advance(TimeSpan.FromSeconds(20));
        var refused = await Assert.ThrowsAsync<IdempotencyScopeQuotaExceededException>(() => ClaimAsync(store, "mallory", Key("mallory", 8)));
        _driver.Time.Advance(TimeSpan.FromSeconds(50)); // the leases have ended; their grace has not
        var refusedAfterTheLeases = await Assert.ThrowsAsync<IdempotencyScopeQuotaExceededException>(() => ClaimAsync(store, "mallory", Key("mallory", 9)));

        Assert.Equal(TimeSpan.FromSeconds(40), refused.RetryAfter);
        Assert.Equal(TimeSpan.FromSeconds(1), refusedAfterTheLeases.RetryAfter);
        Assert.Contains("MaxScopeShare", refused.Message, StringComparison.Ordinal);
        Assert.Equal(10, store.Count);
        Assert.True(await ReplaysAsync(store, "alice", Key("alice", 0)));
        Assert.True(await ReplaysAsync(store, "alice", Key("alice", 1)));
    }

    [Fact]
    public async Task ShareOfOne_TurnsTheShareOff()
    {
        var store = _driver.Create(new() { MaxEntries = 2, MaxScopeShare = 1 });
        await ClaimAsync(store, "only", Key("only", 0));
        await ClaimAsync(store, "only", Key("only", 1));

        // Full of claims in flight, with no share to exceed: the store is full, not the scope.
        await Assert.ThrowsAsync<IdempotencyStoreCapacityExceededException>(() => ClaimAsync(store, "only", Key("only", 2)));
    }

    [Fact]
    public async Task RefuseNewClaims_RefusesAClaimThatWouldTakeItsScopeOverItsShare_EvenWithRoom()
    {
        var store = _driver.Create(new() { MaxEntries = 10, MaxScopeShare = 0.2, WhenFull = InMemoryStoreFullBehavior.RefuseNewClaims });
        await ClaimAndCompleteAsync(store, "a", Key("a", 0), retention: TimeSpan.FromHours(24));
        await ClaimAndCompleteAsync(store, "a", Key("a", 1), retention: TimeSpan.FromHours(24));

        var refused = await Assert.ThrowsAsync<IdempotencyScopeQuotaExceededException>(() => ClaimAsync(store, "a", Key("a", 2)));
        await ClaimAsync(store, "b", Key("b", 0));

        Assert.Equal(TimeSpan.FromMinutes(5), refused.RetryAfter); // a day, capped: the client checks back
        Assert.Contains("RefuseNewClaims", refused.Message, StringComparison.Ordinal);
        Assert.Equal(3, store.Count);
        Assert.True(await ReplaysAsync(store, "a", Key("a", 0)));
    }

    [Fact]
    public async Task RefuseNewClaims_RetryAfter_LastsUntilTheScopesFirstRecordExpires_ThenTheClaimSucceeds()
    {
        var store = _driver.Create(new() { MaxEntries = 10, MaxScopeShare = 0.2, WhenFull = InMemoryStoreFullBehavior.RefuseNewClaims });
        await ClaimAndCompleteAsync(store, "a", Key("a", 0), retention: TimeSpan.FromMinutes(2));
        await ClaimAndCompleteAsync(store, "a", Key("a", 1), retention: TimeSpan.FromMinutes(3));
        _driver.Time.Advance(TimeSpan.FromSeconds(30));

        var refused = await Assert.ThrowsAsync<IdempotencyScopeQuotaExceededException>(() => ClaimAsync(store, "a", Key("a", 2)));
        _driver.Time.Advance(refused.RetryAfter);
        await ClaimAsync(store, "a", Key("a", 2));

        Assert.Equal(TimeSpan.FromSeconds(90), refused.RetryAfter);
        Assert.True(await ReplaysAsync(store, "a", Key("a", 1)));
    }

    [Fact]
    public async Task RefuseNewClaims_RetryAfter_OfAScopeWithClaimsInFlight_LastsUntilTheirLeaseAndGraceEnd()
    {
        var store = _driver.Create(new() { MaxEntries = 10, MaxScopeShare = 0.2, WhenFull = InMemoryStoreFullBehavior.RefuseNewClaims });
        await ClaimAsync(store, "a", Key("a", 0));
        await ClaimAsync(store, "a", Key("a", 1));

        var refused = await Assert.ThrowsAsync<IdempotencyScopeQuotaExceededException>(() => ClaimAsync(store, "a", Key("a", 2)));

        Assert.Equal(TimeSpan.FromMinutes(2), refused.RetryAfter); // the 1-minute lease and the 1-minute grace
    }
}
