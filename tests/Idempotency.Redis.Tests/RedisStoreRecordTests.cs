using Idempotency.Redis.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using static Idempotency.Redis.Tests.Infrastructure.TestPayloads;

namespace Idempotency.Redis.Tests;

/// <summary>What a record looks like in Redis, how long it lives, and what a late owner can still do.</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisStoreRecordTests(RedisServerFixture redis) : IAsyncLifetime
{
    private RedisAdmin? _admin;

    private RedisAdmin Admin => _admin!;

    public async Task InitializeAsync() => _admin = await RedisAdmin.ConnectAsync(redis.Server);

    public async Task DisposeAsync()
    {
        if (_admin is not null)
        {
            await _admin.DisposeAsync();
        }
    }

    [Fact]
    public async Task ClaimedRecord_IsAVersionedHash_ThatLivesForTheLeasePlusTheGracePeriod()
    {
        await using var host = await StartStoreAsync();
        var key = NewKey();
        var owner = NewOwner();

        var claim = await host.Store.ClaimAsync(Claim(key, owner, lease: TimeSpan.FromMinutes(5)), default);
        var fields = await ReadRecordAsync(key);
        var ttl = await Admin.Database.KeyTimeToLiveAsync("idempotency:" + key);

        Assert.Equal(["fp", "lease", "owner", "state", "v"], fields.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("1", (string?)fields["v"]);
        Assert.Equal("claimed", (string?)fields["state"]);
        Assert.Equal(owner, (string?)fields["owner"]);
        Assert.Equal(Fingerprint("a"), (byte[]?)fields["fp"]);
        Assert.Equal(claim.LeaseExpiresAt.ToUnixTimeMilliseconds(), (long)fields["lease"]);
        Assert.NotNull(ttl);
        Assert.InRange(ttl.Value, TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(6)); // 5 min lease + 1 min default grace
    }

    [Fact]
    public async Task CompletedRecord_KeepsVersionStateFingerprintAndPayload_ForTheRetention()
    {
        await using var host = await StartStoreAsync();
        var key = NewKey();
        var owner = NewOwner();
        await host.Store.ClaimAsync(Claim(key, owner), default);

        await host.Store.CompleteAsync(Complete(key, owner, [0, 255, 10], retention: TimeSpan.FromHours(2)), default);
        var fields = await ReadRecordAsync(key);
        var ttl = await Admin.Database.KeyTimeToLiveAsync("idempotency:" + key);

        Assert.Equal(["fp", "payload", "state", "v"], fields.Keys.Order(StringComparer.Ordinal)); // no owner token kept
        Assert.Equal("completed", (string?)fields["state"]);
        Assert.Equal(new byte[] { 0, 255, 10 }, (byte[]?)fields["payload"]);
        Assert.NotNull(ttl);
        Assert.InRange(ttl.Value, TimeSpan.FromHours(2) - TimeSpan.FromMinutes(1), TimeSpan.FromHours(2));
    }

    [Fact]
    public async Task Complete_StoresTheOutcome_WhenTheLeaseEndedButNobodyClaimedTheKey()
    {
        await using var host = await StartStoreAsync();
        var key = NewKey();
        var owner = NewOwner();
        await host.Store.ClaimAsync(Claim(key, owner, lease: TimeSpan.FromMilliseconds(100)), default);
        await Task.Delay(TimeSpan.FromMilliseconds(300));

        var completion = await host.Store.CompleteAsync(Complete(key, owner, [3]), default);
        var replay = await host.Store.ClaimAsync(Claim(key, NewOwner()), default);

        Assert.Equal(CompletionStatus.Completed, completion);
        Assert.Equal(ClaimStatus.Completed, replay.Status);
        Assert.Equal(new byte[] { 3 }, replay.Payload.ToArray());
    }

    [Fact]
    public async Task Complete_ReturnsClaimLost_OnceTheGracePeriodHasEnded()
    {
        await using var host = await StartStoreAsync(options => options.LeaseGracePeriod = TimeSpan.Zero);
        var key = NewKey();
        var owner = NewOwner();
        await host.Store.ClaimAsync(Claim(key, owner, lease: TimeSpan.FromMilliseconds(100)), default);
        await Task.Delay(TimeSpan.FromMilliseconds(300));

        var completion = await host.Store.CompleteAsync(Complete(key, owner, [3]), default);

        Assert.Equal(CompletionStatus.ClaimLost, completion);
        Assert.False(await Admin.Database.KeyExistsAsync("idempotency:" + key));
    }

    [Fact]
    public async Task Complete_SentAgainAfterItLanded_ReportsCompleted_AndKeepsTheRecordForTheRetention()
    {
        // The answer of a completion can be lost after Redis ran it (a dropped connection): the store sends it again,
        // and the second one must not be taken for a lost claim, nor change what the first stored.
        await using var host = await StartStoreAsync();
        var key = NewKey();
        var owner = NewOwner();
        await host.Store.ClaimAsync(Claim(key, owner), default);
        Assert.Equal(CompletionStatus.Completed, await host.Store.CompleteAsync(Complete(key, owner, [4, 5], retention: TimeSpan.FromMinutes(1)), default));

        var again = await host.Store.CompleteAsync(Complete(key, owner, [4, 5], retention: TimeSpan.FromHours(2)), default);
        var fields = await ReadRecordAsync(key);
        var ttl = await Admin.Database.KeyTimeToLiveAsync("idempotency:" + key);

        Assert.Equal(CompletionStatus.Completed, again);
        Assert.Equal(["fp", "payload", "state", "v"], fields.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(new byte[] { 4, 5 }, (byte[]?)fields["payload"]);
        Assert.NotNull(ttl);
        Assert.InRange(ttl.Value, TimeSpan.FromHours(2) - TimeSpan.FromMinutes(1), TimeSpan.FromHours(2));
    }

    [Fact]
    public async Task Complete_ByAnOwnerWhoseKeyAnotherOwnerCompleted_ReturnsClaimLost_AndChangesNothing()
    {
        await using var host = await StartStoreAsync();
        var key = NewKey();
        var late = NewOwner();
        var next = NewOwner();
        await host.Store.ClaimAsync(Claim(key, late, lease: TimeSpan.FromMilliseconds(100)), default);
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        Assert.Equal(ClaimStatus.Claimed, (await host.Store.ClaimAsync(Claim(key, next), default)).Status);
        await host.Store.CompleteAsync(Complete(key, next, [4, 6]), default);

        var completion = await host.Store.CompleteAsync(Complete(key, late, [4, 5]), default);

        Assert.Equal(CompletionStatus.ClaimLost, completion);
        Assert.Equal(new byte[] { 4, 6 }, (byte[]?)(await ReadRecordAsync(key))["payload"]);
    }

    [Fact]
    public async Task Operations_ThrowStoreException_WhenARecordHasAFormatVersionTheyDoNotKnow()
    {
        await using var host = await StartStoreAsync();
        var key = NewKey();
        await Admin.Database.HashSetAsync("idempotency:" + key, [new("v", "2"), new("state", "claimed"), new("owner", "o")]);

        var claim = await Assert.ThrowsAsync<IdempotencyStoreException>(() => host.Store.ClaimAsync(Claim(key, NewOwner()), default).AsTask());
        var complete = await Assert.ThrowsAsync<IdempotencyStoreException>(() => host.Store.CompleteAsync(Complete(key, "o", [1]), default).AsTask());
        var release = await Assert.ThrowsAsync<IdempotencyStoreException>(() => host.Store.ReleaseAsync(key, "o", default).AsTask());

        foreach (var failure in new[] { claim, complete, release })
        {
            Assert.Contains("record format version 2 is not supported", failure.Message, StringComparison.Ordinal);
            Assert.Contains("upgrade every instance", failure.Message, StringComparison.Ordinal);
        }

        Assert.Equal("2", (string?)await Admin.Database.HashGetAsync("idempotency:" + key, "v")); // left as it was
    }

    [Fact]
    public async Task Claim_ThrowsOperationCanceled_AndClaimsNothing_WhenAlreadyCancelled()
    {
        await using var host = await StartStoreAsync();
        var key = NewKey();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => host.Store.ClaimAsync(Claim(key, NewOwner()), cancelled.Token).AsTask());

        Assert.False(await Admin.Database.KeyExistsAsync("idempotency:" + key));
    }

    private Task<RedisStoreHost> StartStoreAsync(Action<RedisIdempotencyStoreOptions>? configure = null) =>
        RedisStoreHost.StartAsync(idempotency => idempotency.AddRedisStore(redis.Server.ConnectionString(), configure));

    private async Task<Dictionary<string, RedisValue>> ReadRecordAsync(string key) =>
        (await Admin.Database.HashGetAllAsync("idempotency:" + key)).ToDictionary(e => (string)e.Name!, e => e.Value);
}
