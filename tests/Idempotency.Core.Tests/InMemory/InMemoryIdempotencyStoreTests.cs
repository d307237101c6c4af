using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
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
        Assert.Equal(InMemoryStoreFullBehavior.EvictOldestCompleted, options.WhenFull);
        Assert.Equal(0.1, options.MaxScopeShare);
        Assert.Equal(TimeSpan.FromMinutes(1), options.LeaseGracePeriod);
        Assert.Equal(0.9, options.DegradedFillLevel);
        Assert.True(options.WarnOutsideDevelopment);
    }

    public static TheoryData<Action<InMemoryIdempotencyStoreOptions>, string> InvalidOptions => new()
    {
        { o => o.MaxEntries = 0, "MaxEntries: The field InMemoryIdempotencyStoreOptions.MaxEntries must be between 1 and 2147483647." },
        { o => o.MaxBytes = 0, string.Format(CultureInfo.CurrentCulture, "MaxBytes: The field InMemoryIdempotencyStoreOptions.MaxBytes must be between 1 and {0}.", (double)long.MaxValue) },
        { o => o.WhenFull = (InMemoryStoreFullBehavior)7, "WhenFull: InMemoryIdempotencyStoreOptions.WhenFull must be EvictOldestCompleted or RefuseNewClaims." },
        { o => o.MaxScopeShare = 0, "MaxScopeShare: The field InMemoryIdempotencyStoreOptions.MaxScopeShare must be between 0 exclusive and 1." },
        { o => o.MaxScopeShare = -0.5, "MaxScopeShare: The field InMemoryIdempotencyStoreOptions.MaxScopeShare must be between 0 exclusive and 1." },
        { o => o.MaxScopeShare = 1.01, "MaxScopeShare: The field InMemoryIdempotencyStoreOptions.MaxScopeShare must be between 0 exclusive and 1." },
        { o => o.MaxScopeShare = double.NaN, "MaxScopeShare: The field InMemoryIdempotencyStoreOptions.MaxScopeShare must be between 0 exclusive and 1." },
        { o => o.LeaseGracePeriod = TimeSpan.FromSeconds(-1), "LeaseGracePeriod: The field InMemoryIdempotencyStoreOptions.LeaseGracePeriod must be between 00:00:00 and 1.00:00:00." },
        { o => o.LeaseGracePeriod = TimeSpan.FromDays(1) + TimeSpan.FromSeconds(1), "LeaseGracePeriod: The field InMemoryIdempotencyStoreOptions.LeaseGracePeriod must be between 00:00:00 and 1.00:00:00." },
        { o => o.DegradedFillLevel = 0, "DegradedFillLevel: The field InMemoryIdempotencyStoreOptions.DegradedFillLevel must be between 0 exclusive and 1." },
        { o => o.DegradedFillLevel = 1.5, "DegradedFillLevel: The field InMemoryIdempotencyStoreOptions.DegradedFillLevel must be between 0 exclusive and 1." },
        { o => o.DegradedFillLevel = double.NaN, "DegradedFillLevel: The field InMemoryIdempotencyStoreOptions.DegradedFillLevel must be between 0 exclusive and 1." },
    };

    [Theory]
    [MemberData(nameof(InvalidOptions))]
    public void Options_AreRejectedAtStartUp_WithAMessageNamingTheOption(Action<InMemoryIdempotencyStoreOptions> configure, string message)
    {
        var options = new InMemoryIdempotencyStoreOptions();
        configure(options);

        var result = new InMemoryIdempotencyStoreOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Equal(message, Assert.Single(result.Failures));
    }

    [Theory]
    [InlineData(1.0, 0)]
    [InlineData(0.0001, 86_400)]
    public void Options_AcceptTheBoundaries(double maxScopeShare, int graceSeconds)
    {
        var options = new InMemoryIdempotencyStoreOptions { MaxScopeShare = maxScopeShare, LeaseGracePeriod = TimeSpan.FromSeconds(graceSeconds), WhenFull = InMemoryStoreFullBehavior.RefuseNewClaims };

        Assert.True(new InMemoryIdempotencyStoreOptionsValidator().Validate(null, options).Succeeded);
    }

    [Fact]
    public async Task AddIdempotentExecutor_RejectsAnInvalidStoreOption_AtStartUp()
    {
        var services = new ServiceCollection();
        services.AddIdempotentExecutor().AddInMemoryStore(o => o.MaxScopeShare = 0);
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<InMemoryIdempotencyStoreOptions>>().Value);

        Assert.Contains("MaxScopeShare", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RefuseNewClaims_Throws_WhenMaxEntriesReached_AndEvictsNothing()
    {
        var store = CreateStore(new() { MaxEntries = 2, WhenFull = InMemoryStoreFullBehavior.RefuseNewClaims, MaxScopeShare = 1 });
        await ClaimAsync(store, "a");
        await ClaimAsync(store, "b");

        var error = await Assert.ThrowsAsync<IdempotencyStoreCapacityExceededException>(() => ClaimAsync(store, "c"));

        Assert.Contains("MaxEntries", error.Message, StringComparison.Ordinal);
        Assert.Contains("RefuseNewClaims", error.Message, StringComparison.Ordinal);
        Assert.Equal(2, store.Count);
        Assert.Equal(ClaimStatus.InFlight, (await store.ClaimAsync(Request("a"), default)).Status);
    }

    [Fact]
    public async Task RefuseNewClaims_Throws_WhenMaxBytesReached_AndKeepsTheCompletedRecord()
    {
        var store = CreateStore(new() { MaxBytes = 1_000, WhenFull = InMemoryStoreFullBehavior.RefuseNewClaims, MaxScopeShare = 1 });
        var owner = await ClaimAsync(store, "a");
        await store.CompleteAsync(new IdempotencyCompleteRequest("a", owner, new byte[900], TimeSpan.FromHours(1)), default);

        await Assert.ThrowsAsync<IdempotencyStoreCapacityExceededException>(() => ClaimAsync(store, "b"));
        Assert.Equal(ClaimStatus.Completed, (await store.ClaimAsync(Request("a"), default)).Status);
    }

    [Fact]
    public async Task Claim_MakesRoomFromExpiredRecords_WhenFull()
    {
        var store = CreateStore(new() { MaxEntries = 1 });
        await store.ClaimAsync(new IdempotencyClaimRequest("a", s_fingerprint, "owner", TimeSpan.FromSeconds(5)), default);
        _time.Advance(TimeSpan.FromSeconds(5) + TimeSpan.FromMinutes(1)); // the lease and its grace period

        await ClaimAsync(store, "b");

        Assert.Equal(1, store.Count);
    }

    [Fact]
    public async Task FullStore_RefusesClaimsWithoutScanningItsRecordsEachTime()
    {
        // Regression: a full store used to scan every record on every refused claim, under its lock.
        var store = CreateStore(new() { MaxEntries = 100, WhenFull = InMemoryStoreFullBehavior.RefuseNewClaims, MaxScopeShare = 1 });
        for (var i = 0; i < 100; i++)
        {
            await ClaimAsync(store, "live-" + i.ToString(CultureInfo.InvariantCulture));
        }

        for (var i = 0; i < 1_000; i++)
        {
            await Assert.ThrowsAsync<IdempotencyStoreCapacityExceededException>(() => ClaimAsync(store, "refused-" + i.ToString(CultureInfo.InvariantCulture)));
        }

        Assert.Equal(0, store.ExpiryChecks);
        _time.Advance(TimeSpan.FromMinutes(2)); // every lease and its grace period has ended: claims succeed again and remove them as they go
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
        _time.Advance(TimeSpan.FromMinutes(30)); // the short leases (and their grace) have ended; the kept records were filed again on completion
        for (var i = 0; i < 2_000; i++)
        {
            await ClaimAsync(store, "later-" + i.ToString(CultureInfo.InvariantCulture));
        }

        Assert.Equal(0, checksBefore);
        Assert.Equal(10_000 + 2_000, store.Count); // the 10 short claims are gone, every completed record is kept
        Assert.Equal(10, store.ExpiryChecks); // only the expired claims examined, once each; the completed records' retention is not due
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
    public async Task RefuseNewClaims_FloodOfDistinctKeys_StaysWithinTheConfiguredBound()
    {
        var store = CreateStore(new() { MaxEntries = 1_000, MaxBytes = 200_000, WhenFull = InMemoryStoreFullBehavior.RefuseNewClaims, MaxScopeShare = 1 });
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

    [Fact]
    public async Task ExpiredLease_StaysCompletableByItsOwner_UntilTheGracePeriodEnds_ThenTheRecordIsDeleted()
    {
        // Regression: the expiry schedule deleted a claim as soon as its lease ended, so a slow handler's completion was lost.
        var store = CreateStore(new());
        var owner = await ClaimAsync(store, "slow"); // a 1-minute lease
        _time.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(30));
        store.RemoveExpiredRecords();
        Assert.Equal(1, store.Count);

        var completed = await store.CompleteAsync(new IdempotencyCompleteRequest("slow", owner, new byte[] { 1 }, TimeSpan.FromHours(1)), default);

        Assert.Equal(CompletionStatus.Completed, completed);
        Assert.Equal(ClaimStatus.Completed, (await store.ClaimAsync(Request("slow"), default)).Status);
    }

    [Fact]
    public async Task AbandonedClaim_IsDeletedByTheSchedule_OnlyOnceItsLeaseAndGracePeriodHaveEnded()
    {
        var store = CreateStore(new() { LeaseGracePeriod = TimeSpan.FromSeconds(30) });
        await ClaimAsync(store, "abandoned");

        _time.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(29));
        store.RemoveExpiredRecords();
        var countWithinGrace = store.Count;
        _time.Advance(TimeSpan.FromSeconds(1));
        store.RemoveExpiredRecords();

        Assert.Equal(1, countWithinGrace);
        Assert.Equal(0, store.Count);
        Assert.Equal(0, store.Bytes);
        Assert.Equal(0, store.ScopeCount);
    }

    [Fact]
    public async Task Complete_ReturnsClaimLost_OnceTheGracePeriodHasEnded_EvenBeforeTheScheduleDeletesTheRecord()
    {
        var store = CreateStore(new() { LeaseGracePeriod = TimeSpan.FromSeconds(10) });
        var owner = await ClaimAsync(store, "late");
        _time.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(10));

        var completed = await store.CompleteAsync(new IdempotencyCompleteRequest("late", owner, new byte[] { 1 }, TimeSpan.FromHours(1)), default);
        var released = await store.ReleaseAsync("late", owner, default);

        Assert.Equal(CompletionStatus.ClaimLost, completed);
        Assert.False(released);
        Assert.Equal(0, store.Count);
    }

    [Fact]
    public async Task ZeroGracePeriod_ForgetsAClaim_WhenItsLeaseEnds()
    {
        var store = CreateStore(new() { LeaseGracePeriod = TimeSpan.Zero });
        var owner = await ClaimAsync(store, "k");
        _time.Advance(TimeSpan.FromMinutes(1));
        store.RemoveExpiredRecords();

        var completed = await store.CompleteAsync(new IdempotencyCompleteRequest("k", owner, new byte[] { 1 }, TimeSpan.FromHours(1)), default);

        Assert.Equal(0, store.Count);
        Assert.Equal(CompletionStatus.ClaimLost, completed);
    }

    [Fact]
    public async Task ClaimWithinItsGracePeriod_IsNeverEvicted_WhenTheStoreIsFull()
    {
        var store = CreateStore(new() { MaxEntries = 1, MaxScopeShare = 1 });
        var owner = await ClaimAsync(store, "slow");
        _time.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(1)); // the lease has ended, the grace has not

        var error = await Assert.ThrowsAsync<IdempotencyStoreCapacityExceededException>(() => ClaimAsync(store, "other"));
        var completed = await store.CompleteAsync(new IdempotencyCompleteRequest("slow", owner, new byte[] { 1 }, TimeSpan.FromHours(1)), default);

        Assert.Contains("in flight", error.Message, StringComparison.Ordinal);
        Assert.Equal(CompletionStatus.Completed, completed);
    }

    [Fact]
    public async Task ScheduleHoldsOnlyLiveRecords_SoCompletedAndReleasedClaimsAreNeverExaminedAgain()
    {
        var store = CreateStore(new());
        for (var i = 0; i < 100; i++)
        {
            var key = "k" + i.ToString(CultureInfo.InvariantCulture);
            var owner = await ClaimAsync(store, key);
            if (i % 2 == 0)
            {
                await store.CompleteAsync(new IdempotencyCompleteRequest(key, owner, new byte[1], TimeSpan.FromMinutes(10)), default);
            }
            else
            {
                await store.ReleaseAsync(key, owner, default);
            }
        }

        _time.Advance(TimeSpan.FromMinutes(5)); // every lease and grace has ended; no retention has
        store.RemoveExpiredRecords();
        var checksBeforeRetention = store.ExpiryChecks;
        _time.Advance(TimeSpan.FromMinutes(6));
        store.RemoveExpiredRecords();

        Assert.Equal(0, checksBeforeRetention);
        Assert.Equal(50, store.ExpiryChecks);
        Assert.Equal(0, store.Count);
    }

    [Fact]
    public async Task ScopeUsage_CountsRecordsAndBytesPerScope_AndIsDroppedWithItsLastRecord()
    {
        var driver = new InMemoryStoreDriver();
        var store = driver.Create(new());
        await InMemoryStoreDriver.ClaimAndCompleteAsync(store, "alice", InMemoryStoreDriver.Key("alice", 1), payloadSize: 100, retention: TimeSpan.FromMinutes(5));
        var bobOwner = await InMemoryStoreDriver.ClaimAsync(store, "bob", InMemoryStoreDriver.Key("bob", 1));
        await InMemoryStoreDriver.ClaimAsync(store, "bob", InMemoryStoreDriver.Key("bob", 2));

        var alice = store.ScopeUsageOf("alice");
        var bob = store.ScopeUsageOf("bob");
        await store.ReleaseAsync(InMemoryStoreDriver.Key("bob", 1), bobOwner, default);
        var bobAfterRelease = store.ScopeUsageOf("bob");
        driver.Time.Advance(TimeSpan.FromMinutes(10)); // alice's retention, bob's lease and grace
        store.RemoveExpiredRecords();

        Assert.Equal(1, alice.Records);
        Assert.Equal(2, bob.Records);
        Assert.Equal(0, store.Bytes); // everything expired
        var longerKey = (InMemoryStoreDriver.Key("alice", 1).Length - InMemoryStoreDriver.Key("bob", 1).Length) * sizeof(char);
        Assert.Equal((bob.Bytes / 2) + longerKey + 100, alice.Bytes); // a record like bob's, a longer key, and the payload
        Assert.Equal(1, bobAfterRelease.Records);
        Assert.Equal(bob.Bytes / 2, bobAfterRelease.Bytes);
        Assert.Equal(0, store.ScopeCount);
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
