using System.Security.Cryptography;
using System.Text;

namespace Idempotency.Stores.Conformance;

/// <summary>
/// The behaviour every <see cref="IIdempotencyStore"/> must have. A store's test project inherits this class,
/// creates the store under test, says how time passes for it (a fake clock, or a real wait on a real server), and,
/// if the store deletes expired records in housekeeping of its own, how to run it (<see cref="RemoveExpiredRecordsAsync"/>).
/// The lease grace tests need the store's grace period (see <see cref="IIdempotencyStore"/>) to outlast a couple of
/// seconds; the library's stores default to a minute.
/// </summary>
public abstract class IdempotencyStoreConformanceTests
{
    /// <summary>A lease long enough that it never expires during a test.</summary>
    protected static readonly TimeSpan LongLease = TimeSpan.FromMinutes(5);

    /// <summary>A retention long enough that it never expires during a test.</summary>
    protected static readonly TimeSpan LongRetention = TimeSpan.FromHours(1);

    /// <summary>
    /// How far past a short lease the grace tests let time run: past a whole second (stores that expire by the
    /// second see the lease as over), and far within any lease grace period of a minute.
    /// </summary>
    private static readonly TimeSpan PastTheLease = TimeSpan.FromSeconds(1.2);

    /// <summary>Gets the store under test. Each test uses keys of its own, so one store may serve every test.</summary>
    protected abstract IIdempotencyStore Store { get; }

    /// <summary>Gets a lease that <see cref="AdvanceTimeAsync"/> can outlive within a test.</summary>
    protected virtual TimeSpan ShortLease => TimeSpan.FromMilliseconds(500);

    /// <summary>Gets a retention that <see cref="AdvanceTimeAsync"/> can outlive within a test (whole seconds, for stores with second granularity).</summary>
    protected virtual TimeSpan ShortRetention => TimeSpan.FromSeconds(1);

    /// <summary>Lets <paramref name="duration"/> pass for the store: advances a fake clock, or waits.</summary>
    /// <param name="duration">How much time passes. The suite asks for at most a few seconds at a time.</param>
    /// <returns>A task that completes once the store sees the time as passed.</returns>
    protected abstract Task AdvanceTimeAsync(TimeSpan duration);

    /// <summary>
    /// Runs the store's own housekeeping that deletes expired records (the PostgreSQL cleanup pass, say); stores that
    /// expire records as a side effect of other calls need not override it.
    /// </summary>
    /// <returns>A task that completes when the housekeeping has run.</returns>
    protected virtual ValueTask RemoveExpiredRecordsAsync() => ValueTask.CompletedTask;

    /// <summary>A new key is claimed, and the result says when the lease ends.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task Claim_ReturnsClaimed_WhenKeyIsNew()
    {
        var result = await Store.ClaimAsync(Claim(NewKey(), Fingerprint("a"), NewOwner(), LongLease), default);

        Assert.Equal(ClaimStatus.Claimed, result.Status);
        Assert.True(result.LeaseExpiresAt > DateTimeOffset.UnixEpoch, "A claim reports when its lease ends.");
    }

    /// <summary>A key another owner holds under a live lease is in flight, with the lease's remaining time.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task Claim_ReturnsInFlightWithRemainingLease_WhenAnotherOwnerHoldsTheKey()
    {
        var key = NewKey();
        await ClaimAsync(key, "a", NewOwner(), LongLease);

        var second = await Store.ClaimAsync(Claim(key, Fingerprint("a"), NewOwner(), LongLease), default);

        Assert.Equal(ClaimStatus.InFlight, second.Status);
        Assert.InRange(second.LeaseRemaining, TimeSpan.FromMinutes(4), LongLease);
    }

    /// <summary>A claim with another fingerprint than the live claim's is a fingerprint mismatch.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task Claim_ReturnsFingerprintMismatch_WhenInFlightForAnotherFingerprint()
    {
        var key = NewKey();
        await ClaimAsync(key, "a", NewOwner(), LongLease);

        var second = await Store.ClaimAsync(Claim(key, Fingerprint("b"), NewOwner(), LongLease), default);

        Assert.Equal(ClaimStatus.FingerprintMismatch, second.Status);
    }

    /// <summary>A claim of a completed key returns the stored payload.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task Claim_ReturnsStoredPayload_WhenKeyCompleted()
    {
        var key = NewKey();
        var owner = NewOwner();
        await ClaimAsync(key, "a", owner, LongLease);
        var payload = Encoding.UTF8.GetBytes("{\"balance\":100}");

        var completion = await Store.CompleteAsync(new IdempotencyCompleteRequest(key, owner, payload, LongRetention), default);
        var replay = await Store.ClaimAsync(Claim(key, Fingerprint("a"), NewOwner(), LongLease), default);

        Assert.Equal(CompletionStatus.Completed, completion);
        Assert.Equal(ClaimStatus.Completed, replay.Status);
        Assert.Equal(payload, replay.Payload.ToArray());
    }

    /// <summary>A claim of a completed key with another fingerprint is a fingerprint mismatch; with the same fingerprint it replays.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task Claim_ReturnsFingerprintMismatch_WhenCompletedForAnotherFingerprint()
    {
        var key = NewKey();
        var owner = NewOwner();
        await ClaimAsync(key, "a", owner, LongLease);
        await CompleteAsync(key, owner, [1, 2, 3]);

        var other = await Store.ClaimAsync(Claim(key, Fingerprint("b"), NewOwner(), LongLease), default);
        var same = await Store.ClaimAsync(Claim(key, Fingerprint("a"), NewOwner(), LongLease), default);

        Assert.Equal(ClaimStatus.FingerprintMismatch, other.Status);
        Assert.Equal(ClaimStatus.Completed, same.Status);
    }

    /// <summary>Only the owner completes a claim: anyone else gets claim lost, and the claim stays in flight.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task Complete_ReturnsClaimLost_WhenCallerIsNotTheOwner()
    {
        var key = NewKey();
        var owner = NewOwner();
        await ClaimAsync(key, "a", owner, LongLease);

        var status = await Store.CompleteAsync(new IdempotencyCompleteRequest(key, NewOwner(), new byte[] { 9 }, LongRetention), default);
        var stillInFlight = await Store.ClaimAsync(Claim(key, Fingerprint("a"), NewOwner(), LongLease), default);

        Assert.Equal(CompletionStatus.ClaimLost, status);
        Assert.Equal(ClaimStatus.InFlight, stillInFlight.Status);
    }

    /// <summary>Completing a key nobody claimed reports claim lost.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task Complete_ReturnsClaimLost_WhenKeyWasNeverClaimed()
    {
        var status = await Store.CompleteAsync(new IdempotencyCompleteRequest(NewKey(), NewOwner(), new byte[] { 9 }, LongRetention), default);

        Assert.Equal(CompletionStatus.ClaimLost, status);
    }

    /// <summary>A second completion reports claim lost and never replaces the first payload.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task Complete_ReturnsClaimLost_WhenAlreadyCompleted_AndKeepsTheFirstPayload()
    {
        var key = NewKey();
        var owner = NewOwner();
        await ClaimAsync(key, "a", owner, LongLease);
        await CompleteAsync(key, owner, [1]);

        var again = await Store.CompleteAsync(new IdempotencyCompleteRequest(key, owner, new byte[] { 2 }, LongRetention), default);
        var replay = await Store.ClaimAsync(Claim(key, Fingerprint("a"), NewOwner(), LongLease), default);

        Assert.Equal(CompletionStatus.ClaimLost, again);
        Assert.Equal(new byte[] { 1 }, replay.Payload.ToArray());
    }

    /// <summary>The owner's release frees the key for the next claim.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task Release_FreesTheKey_ForTheOwner()
    {
        var key = NewKey();
        var owner = NewOwner();
        await ClaimAsync(key, "a", owner, LongLease);

        var released = await Store.ReleaseAsync(key, owner, default);
        var next = await Store.ClaimAsync(Claim(key, Fingerprint("b"), NewOwner(), LongLease), default);

        Assert.True(released);
        Assert.Equal(ClaimStatus.Claimed, next.Status);
    }

    /// <summary>Only the owner releases a claim: anyone else gets false, and the claim stays in flight.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task Release_ReturnsFalse_AndKeepsTheClaim_WhenCallerIsNotTheOwner()
    {
        var key = NewKey();
        await ClaimAsync(key, "a", NewOwner(), LongLease);

        var released = await Store.ReleaseAsync(key, NewOwner(), default);
        var next = await Store.ClaimAsync(Claim(key, Fingerprint("a"), NewOwner(), LongLease), default);

        Assert.False(released);
        Assert.Equal(ClaimStatus.InFlight, next.Status);
    }

    /// <summary>A completed record is never released, not even by its owner.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task Release_NeverRemovesACompletedRecord()
    {
        var key = NewKey();
        var owner = NewOwner();
        await ClaimAsync(key, "a", owner, LongLease);
        await CompleteAsync(key, owner, [7]);

        var released = await Store.ReleaseAsync(key, owner, default);
        var replay = await Store.ClaimAsync(Claim(key, Fingerprint("a"), NewOwner(), LongLease), default);

        Assert.False(released);
        Assert.Equal(ClaimStatus.Completed, replay.Status);
    }

    /// <summary>Once a lease has expired, another owner claims the key.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task Claim_TakesOverTheKey_AfterTheLeaseExpires()
    {
        var key = NewKey();
        await ClaimAsync(key, "a", NewOwner(), ShortLease);

        await AdvanceTimeAsync(ShortLease + TimeSpan.FromMilliseconds(300));
        var next = await Store.ClaimAsync(Claim(key, Fingerprint("a"), NewOwner(), LongLease), default);

        Assert.Equal(ClaimStatus.Claimed, next.Status);
    }

    /// <summary>An owner whose lease expired and whose key another owner claimed can neither complete nor release it; the new owner can.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task ExpiredOwner_CannotCompleteOrRelease_AfterAnotherOwnerClaimed()
    {
        var key = NewKey();
        var expiredOwner = NewOwner();
        var newOwner = NewOwner();
        await ClaimAsync(key, "a", expiredOwner, ShortLease);
        await AdvanceTimeAsync(ShortLease + TimeSpan.FromMilliseconds(300));
        await ClaimAsync(key, "a", newOwner, LongLease);

        var completed = await Store.CompleteAsync(new IdempotencyCompleteRequest(key, expiredOwner, new byte[] { 1 }, LongRetention), default);
        var released = await Store.ReleaseAsync(key, expiredOwner, default);
        var newOwnerCompletes = await Store.CompleteAsync(new IdempotencyCompleteRequest(key, newOwner, new byte[] { 2 }, LongRetention), default);
        var replay = await Store.ClaimAsync(Claim(key, Fingerprint("a"), NewOwner(), LongLease), default);

        Assert.Equal(CompletionStatus.ClaimLost, completed);
        Assert.False(released);
        Assert.Equal(CompletionStatus.Completed, newOwnerCompletes);
        Assert.Equal(new byte[] { 2 }, replay.Payload.ToArray());
    }

    /// <summary>An owner whose lease expired may still complete within the lease grace period while nobody claimed the key, even after the store's housekeeping ran.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task ExpiredOwner_CanStillComplete_WithinTheLeaseGracePeriod_WhenNobodyClaimedTheKey()
    {
        var key = NewKey();
        var owner = NewOwner();
        await ClaimAsync(key, "a", owner, ShortLease);
        await AdvanceTimeAsync(ShortLease + PastTheLease);
        await RemoveExpiredRecordsAsync();

        var completed = await Store.CompleteAsync(new IdempotencyCompleteRequest(key, owner, new byte[] { 4, 2 }, LongRetention), default);
        var replay = await Store.ClaimAsync(Claim(key, Fingerprint("a"), NewOwner(), LongLease), default);

        Assert.Equal(CompletionStatus.Completed, completed);
        Assert.Equal(ClaimStatus.Completed, replay.Status);
        Assert.Equal(new byte[] { 4, 2 }, replay.Payload.ToArray());
    }

    /// <summary>An owner whose lease expired may still release within the lease grace period while nobody claimed the key, even after the store's housekeeping ran.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task ExpiredOwner_CanStillRelease_WithinTheLeaseGracePeriod_WhenNobodyClaimedTheKey()
    {
        var key = NewKey();
        var owner = NewOwner();
        await ClaimAsync(key, "a", owner, ShortLease);
        await AdvanceTimeAsync(ShortLease + PastTheLease);
        await RemoveExpiredRecordsAsync();

        var released = await Store.ReleaseAsync(key, owner, default);
        var next = await Store.ClaimAsync(Claim(key, Fingerprint("b"), NewOwner(), LongLease), default);

        Assert.True(released);
        Assert.Equal(ClaimStatus.Claimed, next.Status);
    }

    /// <summary>Housekeeping never lets an expired owner complete a key another owner has claimed since.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task ExpiredOwner_CannotComplete_AfterAnotherOwnerClaimed_EvenAfterHousekeeping()
    {
        var key = NewKey();
        var expiredOwner = NewOwner();
        await ClaimAsync(key, "a", expiredOwner, ShortLease);
        await AdvanceTimeAsync(ShortLease + PastTheLease);
        await RemoveExpiredRecordsAsync();
        await ClaimAsync(key, "a", NewOwner(), LongLease);
        await RemoveExpiredRecordsAsync();

        var completed = await Store.CompleteAsync(new IdempotencyCompleteRequest(key, expiredOwner, new byte[] { 1 }, LongRetention), default);
        var stillInFlight = await Store.ClaimAsync(Claim(key, Fingerprint("a"), NewOwner(), LongLease), default);

        Assert.Equal(CompletionStatus.ClaimLost, completed);
        Assert.Equal(ClaimStatus.InFlight, stillInFlight.Status);
    }

    /// <summary>A completed record is kept for its retention and is gone after it.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task CompletedRecord_Expires_AfterItsRetention()
    {
        var key = NewKey();
        var owner = NewOwner();
        await ClaimAsync(key, "a", owner, LongLease);
        await Store.CompleteAsync(new IdempotencyCompleteRequest(key, owner, new byte[] { 1 }, ShortRetention), default);

        var beforeExpiry = await Store.ClaimAsync(Claim(key, Fingerprint("b"), NewOwner(), LongLease), default);
        await AdvanceTimeAsync(ShortRetention + TimeSpan.FromMilliseconds(500));
        var afterExpiry = await Store.ClaimAsync(Claim(key, Fingerprint("b"), NewOwner(), LongLease), default);

        Assert.Equal(ClaimStatus.FingerprintMismatch, beforeExpiry.Status);
        Assert.Equal(ClaimStatus.Claimed, afterExpiry.Status);
    }

    /// <summary>Of 64 concurrent claims of a new key exactly one wins; the others see it in flight.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task ConcurrentClaims_OfOneKey_HaveExactlyOneWinner()
    {
        const int claimers = 64;
        var key = NewKey();
        using var start = new ManualResetEventSlim();

        var tasks = Enumerable.Range(0, claimers).Select(_ => Task.Run(async () =>
        {
            start.Wait();
            return (await Store.ClaimAsync(Claim(key, Fingerprint("a"), NewOwner(), LongLease), default)).Status;
        })).ToArray();
        start.Set();
        var statuses = await Task.WhenAll(tasks);

        Assert.Equal(1, statuses.Count(s => s == ClaimStatus.Claimed));
        Assert.Equal(claimers - 1, statuses.Count(s => s == ClaimStatus.InFlight));
    }

    /// <summary>Of 64 concurrent claims of a key whose lease expired exactly one wins.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task ConcurrentReclaims_OfAnExpiredLease_HaveExactlyOneWinner()
    {
        const int claimers = 64;
        var key = NewKey();
        await ClaimAsync(key, "a", NewOwner(), ShortLease);
        await AdvanceTimeAsync(ShortLease + TimeSpan.FromMilliseconds(300));
        using var start = new ManualResetEventSlim();

        var tasks = Enumerable.Range(0, claimers).Select(_ => Task.Run(async () =>
        {
            start.Wait();
            return (await Store.ClaimAsync(Claim(key, Fingerprint("a"), NewOwner(), LongLease), default)).Status;
        })).ToArray();
        start.Set();
        var statuses = await Task.WhenAll(tasks);

        Assert.Equal(1, statuses.Count(s => s == ClaimStatus.Claimed));
    }

    /// <summary>A 4 MiB payload holding every byte value comes back byte for byte.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task LargeBinaryPayload_IsReturnedByteForByte()
    {
        var key = NewKey();
        var owner = NewOwner();
        var payload = new byte[4 * 1024 * 1024];
        new Random(42).NextBytes(payload);
        for (var i = 0; i < 256; i++)
        {
            payload[i] = (byte)i; // every byte value, including 0 and 0xFF, at a known place
        }

        await ClaimAsync(key, "a", owner, LongLease);
        await CompleteAsync(key, owner, payload);
        var replay = await Store.ClaimAsync(Claim(key, Fingerprint("a"), NewOwner(), LongLease), default);

        Assert.Equal(ClaimStatus.Completed, replay.Status);
        Assert.True(payload.AsSpan().SequenceEqual(replay.Payload.Span), "The payload must come back byte for byte.");
    }

    /// <summary>An empty payload is stored and replayed as empty.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task EmptyPayload_IsStoredAndReplayed()
    {
        var key = NewKey();
        var owner = NewOwner();
        await ClaimAsync(key, "a", owner, LongLease);
        await CompleteAsync(key, owner, []);

        var replay = await Store.ClaimAsync(Claim(key, Fingerprint("a"), NewOwner(), LongLease), default);

        Assert.Equal(ClaimStatus.Completed, replay.Status);
        Assert.Equal(0, replay.Payload.Length);
    }

    /// <summary>500 keys, half completed and half in flight, keep their own states and payloads.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task ManyKeys_AreIndependent()
    {
        const int count = 500;
        var keys = Enumerable.Range(0, count).Select(_ => NewKey()).ToArray();
        var owners = keys.Select(_ => NewOwner()).ToArray();

        for (var i = 0; i < count; i++)
        {
            await ClaimAsync(keys[i], "a", owners[i], LongLease);
            if (i % 2 == 0)
            {
                await CompleteAsync(keys[i], owners[i], BitConverter.GetBytes(i));
            }
        }

        for (var i = 0; i < count; i++)
        {
            var result = await Store.ClaimAsync(Claim(keys[i], Fingerprint("a"), NewOwner(), LongLease), default);
            if (i % 2 == 0)
            {
                Assert.Equal(ClaimStatus.Completed, result.Status);
                Assert.Equal(i, BitConverter.ToInt32(result.Payload.Span));
            }
            else
            {
                Assert.Equal(ClaimStatus.InFlight, result.Status);
            }
        }
    }

    /// <summary>The same client key in two scopes names two records.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task KeysOfDifferentScopes_NeverCollide()
    {
        var clientKey = Guid.NewGuid().ToString();
        var alice = IdempotencyStorageKey.Create("alice", clientKey);
        var bob = IdempotencyStorageKey.Create("bob", clientKey);
        var aliceOwner = NewOwner();
        await ClaimAsync(alice, "a", aliceOwner, LongLease);
        await CompleteAsync(alice, aliceOwner, [1]);

        var bobClaim = await Store.ClaimAsync(Claim(bob, Fingerprint("a"), NewOwner(), LongLease), default);

        Assert.Equal(ClaimStatus.Claimed, bobClaim.Status);
    }

    /// <summary>Keys with Unicode, quotes, backslashes, colons and braces are stored exactly, and a key that differs by one character is another key.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task KeysWithUnusualCharacters_AreStoredExactly()
    {
        var suffix = Guid.NewGuid().ToString("N");
        var unicodeScope = IdempotencyStorageKey.Create("tenant-é-日本:{x}", "k:\"quoted\"\\" + suffix);
        var owner = NewOwner();
        await ClaimAsync(unicodeScope, "a", owner, LongLease);
        await CompleteAsync(unicodeScope, owner, [5]);

        var replay = await Store.ClaimAsync(Claim(unicodeScope, Fingerprint("a"), NewOwner(), LongLease), default);
        var near = await Store.ClaimAsync(Claim(unicodeScope + "x", Fingerprint("a"), NewOwner(), LongLease), default);

        Assert.Equal(ClaimStatus.Completed, replay.Status);
        Assert.Equal(ClaimStatus.Claimed, near.Status);
    }

    /// <summary>Creates a storage key no other test uses, so tests never see each other's records.</summary>
    /// <returns>A scoped storage key, as <see cref="IdempotencyStorageKey.Create"/> makes them.</returns>
    protected static string NewKey() => IdempotencyStorageKey.Create("conformance", Guid.NewGuid().ToString());

    /// <summary>Creates an owner token no other claim uses.</summary>
    /// <returns>The owner token.</returns>
    protected static string NewOwner() => Guid.NewGuid().ToString("N");

    /// <summary>Computes a request fingerprint from a short label: equal labels, equal fingerprints.</summary>
    /// <param name="label">The label, such as <c>"a"</c>.</param>
    /// <returns>The SHA-256 of the label's UTF-8 bytes.</returns>
    protected static byte[] Fingerprint(string label) => SHA256.HashData(Encoding.UTF8.GetBytes(label));

    /// <summary>Creates a claim request.</summary>
    /// <param name="key">The scoped storage key to claim.</param>
    /// <param name="fingerprint">The request fingerprint.</param>
    /// <param name="owner">The owner token.</param>
    /// <param name="lease">The lease to take.</param>
    /// <returns>The request to pass to <see cref="IIdempotencyStore.ClaimAsync"/>.</returns>
    protected static IdempotencyClaimRequest Claim(string key, byte[] fingerprint, string owner, TimeSpan lease) => new(key, fingerprint, owner, lease);

    private async Task ClaimAsync(string key, string fingerprintLabel, string owner, TimeSpan lease)
    {
        var result = await Store.ClaimAsync(Claim(key, Fingerprint(fingerprintLabel), owner, lease), default);
        Assert.Equal(ClaimStatus.Claimed, result.Status);
    }

    private async Task CompleteAsync(string key, string owner, byte[] payload)
    {
        var status = await Store.CompleteAsync(new IdempotencyCompleteRequest(key, owner, payload, LongRetention), default);
        Assert.Equal(CompletionStatus.Completed, status);
    }
}
