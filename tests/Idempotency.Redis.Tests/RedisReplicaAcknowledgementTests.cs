using Idempotency.Redis.Tests.Infrastructure;
using Idempotency.Stores.Conformance;
using Microsoft.Extensions.DependencyInjection;
using static Idempotency.Redis.Tests.Infrastructure.TestPayloads;

namespace Idempotency.Redis.Tests;

/// <summary>
/// <see cref="RedisIdempotencyStoreOptions.ReplicaAcknowledgements"/> on a single server, which has no replica: every
/// WAIT comes back short, which is how a primary whose replicas are down or behind answers.
/// </summary>
[Collection(RedisCollection.Name)]
public sealed class RedisReplicaAcknowledgementTests(RedisServerFixture redis)
{
    private const int ReplicaAcknowledgementMissing = 3150;

    [Fact]
    public async Task Claim_FailsAndIsWithdrawn_WhenFewerReplicasAcknowledgeThanRequired()
    {
        await using var acknowledged = await StartAsync(replicas: 1);
        await using var plain = await StartAsync(replicas: 0);
        var key = NewKey();

        var error = await Assert.ThrowsAsync<IdempotencyStoreException>(async () => await acknowledged.Store.ClaimAsync(Claim(key, NewOwner()), default));

        Assert.Contains("0 of the 1 replicas required (ReplicaAcknowledgements) acknowledged the claim", error.Message, StringComparison.Ordinal);
        Assert.Equal(ClaimStatus.Claimed, (await plain.Store.ClaimAsync(Claim(key, NewOwner()), default)).Status);
        var warning = Assert.Single(acknowledged.LogsWithId(ReplicaAcknowledgementMissing));
        Assert.Equal("Only 0 of the 1 replicas required acknowledged an idempotency claim within 50 ms; the call fails.", warning.Message);
        Assert.DoesNotContain(key, warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Complete_FailsButKeepsTheOutcomeOnThePrimary_WhenFewerReplicasAcknowledgeThanRequired()
    {
        await using var acknowledged = await StartAsync(replicas: 1);
        await using var plain = await StartAsync(replicas: 0);
        var key = NewKey();
        var owner = NewOwner();
        Assert.Equal(ClaimStatus.Claimed, (await plain.Store.ClaimAsync(Claim(key, owner), default)).Status);

        var error = await Assert.ThrowsAsync<IdempotencyStoreException>(
            async () => await acknowledged.Store.CompleteAsync(Complete(key, owner, [7, 8]), default));

        Assert.Contains("recorded the outcome on the primary, but 0 of the 1 replicas required", error.Message, StringComparison.Ordinal);
        var replay = await plain.Store.ClaimAsync(Claim(key, NewOwner()), default);
        Assert.Equal(ClaimStatus.Completed, replay.Status);
        Assert.Equal([7, 8], replay.Payload.ToArray());
    }

    [Fact]
    public async Task ClaimAndReplay_DoNotWait_WhenNothingWasWritten()
    {
        await using var acknowledged = await StartAsync(replicas: 1);
        await using var plain = await StartAsync(replicas: 0);
        var key = NewKey();
        var owner = NewOwner();
        await plain.Store.ClaimAsync(Claim(key, owner), default);

        Assert.Equal(ClaimStatus.InFlight, (await acknowledged.Store.ClaimAsync(Claim(key, NewOwner()), default)).Status);
        await plain.Store.CompleteAsync(Complete(key, owner, [1]), default);
        Assert.Equal(ClaimStatus.Completed, (await acknowledged.Store.ClaimAsync(Claim(key, NewOwner()), default)).Status);
        Assert.True(await acknowledged.Store.ReleaseAsync(NewKey(), owner, default) is false);
        Assert.Empty(acknowledged.LogsWithId(ReplicaAcknowledgementMissing));
    }

    [Fact]
    public async Task Startup_WarnsNamingThePrimary_WhenItHasFewerReplicasThanRequired()
    {
        await using var acknowledged = await StartAsync(replicas: 1);
        await using var plain = await StartAsync(replicas: 0);

        var warning = Assert.Single(acknowledged.LogsWithId(RedisLogEvents.TooFewReplicas));
        Assert.Equal(
            $"Redis at {redis.Server.EndPoint} has 0 replica(s) connected, but RedisIdempotencyStoreOptions.ReplicaAcknowledgements requires 1: " +
            "until enough replicas are connected, every claim of a key on this primary is refused.",
            warning.Message);
        Assert.Empty(plain.LogsWithId(RedisLogEvents.TooFewReplicas));
    }

    [Fact]
    public async Task Claim_SendsTheScriptAndWait_AndNothingElse()
    {
        await using var acknowledged = await StartAsync(replicas: 1);
        await using var admin = await RedisAdmin.ConnectAsync(redis.Server);
        await admin.StartCountingCommandsAsync();
        await admin.Server.ExecuteAsync("CONFIG", "RESETSTAT");

        await Assert.ThrowsAsync<IdempotencyStoreException>(async () => await acknowledged.Store.ClaimAsync(Claim(NewKey(), NewOwner()), default));

        // The claim's EVALSHA and its WAIT, then the withdrawal's EVALSHA (which is not waited for). The slow log
        // leaves out commands that blocked, so WAIT is counted from the command statistics; the connection's first
        // command to database 0 comes with a SELECT.
        var sent = await admin.CommandsSinceResetAsync();
        Assert.Equal(new Dictionary<string, long> { ["evalsha"] = 2 }, sent.Where(command => command.Key != "select"));
        var statistics = (string)(await admin.Server.ExecuteAsync("INFO", "commandstats"))!;
        Assert.Contains("cmdstat_wait:calls=1,", statistics, StringComparison.Ordinal);
    }

    private Task<RedisStoreHost> StartAsync(int replicas) =>
        RedisStoreHost.StartAsync(idempotency => idempotency.AddRedisStore(redis.Server.ConnectionString(), options =>
        {
            options.ReplicaAcknowledgements = replicas;
            options.ReplicaAcknowledgementTimeout = TimeSpan.FromMilliseconds(50);
        }));
}

/// <summary>The conformance suite against a Redis Cluster with every claim and completion waiting for its replica.</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisClusterAcknowledgedConformanceTests(RedisClusterFixture redis) : IdempotencyStoreConformanceTests, IClassFixture<RedisClusterFixture>, IAsyncLifetime
{
    private RedisStoreHost? _host;

    protected override IIdempotencyStore Store => _host!.Store;

    protected override TimeSpan ShortLease => TimeSpan.FromMilliseconds(200);

    public async Task InitializeAsync() => _host = await RedisStoreHost.StartAsync(
        idempotency => idempotency.AddRedisStore(redis.Cluster.ConnectionString(), options => options.ReplicaAcknowledgements = 1));

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }

    protected override Task AdvanceTimeAsync(TimeSpan duration) => Task.Delay(duration);
}

/// <summary>Where the WAIT goes in a Redis Cluster: to the primary of the key's slot, whose replica must answer.</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisClusterReplicaAcknowledgementTests(RedisClusterFixture redis) : IClassFixture<RedisClusterFixture>
{
    [Fact]
    public async Task Claims_FailOnlyOnThePrimaryWhoseReplicaIsFrozen()
    {
        await using var host = await RedisStoreHost.StartAsync(idempotency => idempotency.AddRedisStore(redis.Cluster.ConnectionString(), options =>
        {
            options.ReplicaAcknowledgements = 1;
            // Long enough for a healthy replica while the whole suite shares two cores (100 ms once refused a claim on a
            // healthy primary); every claim on the frozen primary waits it out, so only two of those are made.
            options.ReplicaAcknowledgementTimeout = TimeSpan.FromSeconds(2);
        }));
        var keys = Enumerable.Range(0, 30).Select(_ => NewKey()).ToArray();
        var frozenPrimary = await redis.Cluster.PrimaryOfSlotAsync(Slot(keys[0]));
        var frozenReplica = await redis.Cluster.ReplicaOfAsync(frozenPrimary);
        var onFrozen = new List<string>();
        foreach (var key in keys)
        {
            if (await redis.Cluster.PrimaryOfSlotAsync(Slot(key)) == frozenPrimary)
            {
                onFrozen.Add(key);
            }
        }

        var claimed = keys.Where(key => !onFrozen.Contains(key)).Concat(onFrozen.Take(2)).ToArray();
        await frozenReplica.PauseAsync();
        var statuses = new Dictionary<string, string>();
        try
        {
            foreach (var key in claimed)
            {
                try
                {
                    statuses[key] = (await host.Store.ClaimAsync(Claim(key, NewOwner()), default)).Status.ToString();
                }
                catch (IdempotencyStoreException)
                {
                    statuses[key] = "refused";
                }
            }
        }
        finally
        {
            await frozenReplica.ResumeAsync();
        }

        Assert.InRange(onFrozen.Count, 1, keys.Length - 1);
        Assert.All(claimed, key => Assert.Equal(onFrozen.Contains(key) ? "refused" : nameof(ClaimStatus.Claimed), statuses[key]));
        await redis.Cluster.WaitUntilReadyAsync();
    }

    [Fact]
    public async Task Startup_DoesNotWarnAboutReplicas_WhenEveryPrimaryHasOne()
    {
        await using var host = await RedisStoreHost.StartAsync(
            idempotency => idempotency.AddRedisStore(redis.Cluster.ConnectionString(), options => options.ReplicaAcknowledgements = 1));

        Assert.Equal(3, host.LogsWithId(RedisLogEvents.ScriptsLoaded).Count);
        Assert.Empty(host.LogsWithId(RedisLogEvents.TooFewReplicas));
    }

    [Fact]
    public async Task Claims_AreAcknowledged_AfterEveryPrimaryLostItsScripts()
    {
        await using var host = await RedisStoreHost.StartAsync(
            idempotency => idempotency.AddRedisStore(redis.Cluster.ConnectionString(), options => options.ReplicaAcknowledgements = 1));
        foreach (var node in redis.Cluster.Servers)
        {
            await RedisCluster.CommandAsync(node, "SCRIPT", "FLUSH");
        }

        foreach (var key in Enumerable.Range(0, 10).Select(_ => NewKey()))
        {
            var owner = NewOwner();
            Assert.Equal(ClaimStatus.Claimed, (await host.Store.ClaimAsync(Claim(key, owner), default)).Status);
            Assert.Equal(CompletionStatus.Completed, await host.Store.CompleteAsync(Complete(key, owner, [1]), default));
        }
    }

    private static int Slot(string key) => RedisCluster.HashSlot("idempotency:" + key);
}
