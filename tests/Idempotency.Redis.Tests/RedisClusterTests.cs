using Idempotency.Redis.Tests.Infrastructure;
using Idempotency.Stores.Conformance;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using static Idempotency.Redis.Tests.Infrastructure.TestPayloads;

namespace Idempotency.Redis.Tests;

/// <summary>The store conformance suite against a real Redis Cluster (three primaries, a replica each).</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisClusterConformanceTests(RedisClusterFixture redis) : IdempotencyStoreConformanceTests, IClassFixture<RedisClusterFixture>, IAsyncLifetime
{
    private RedisStoreHost? _host;

    protected override IIdempotencyStore Store => _host!.Store;

    protected override TimeSpan ShortLease => TimeSpan.FromMilliseconds(200);

    public async Task InitializeAsync() => _host = await RedisStoreHost.StartAsync(idempotency => idempotency.AddRedisStore(redis.Cluster.ConnectionString()));

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }

    protected override Task AdvanceTimeAsync(TimeSpan duration) => Task.Delay(duration);
}

/// <summary>Two application instances (two service providers, two multiplexers) sharing one Redis Cluster.</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisClusterMultiInstanceTests(RedisClusterFixture redis) : RedisMultiInstanceTests, IClassFixture<RedisClusterFixture>
{
    protected override string ConnectionString => redis.Cluster.ConnectionString();

    [Fact]
    public async Task AnEmptyBracePairInTheKeyPrefix_StopsAClientsOwnBracesFromChoosingTheSlot()
    {
        // Redis Cluster hashes only what is between the first '{' and the next '}', unless that is empty. Under
        // "orders:" a client's keys "{x}0", "{x}1", ... all land in one slot, on one node of the client's choosing; under
        // "orders:{}:" (which KeyPrefix accepts) the whole key is hashed and they spread.
        var node = redis.Cluster.Servers[0];
        var plain = new HashSet<string>();
        var emptyPair = new HashSet<string>();
        for (var i = 0; i < 16; i++)
        {
            plain.Add(await RedisCluster.CommandAsync(node, "CLUSTER", "KEYSLOT", $"orders:1:a:{{x}}{i}"));
            emptyPair.Add(await RedisCluster.CommandAsync(node, "CLUSTER", "KEYSLOT", $"orders:{{}}:1:a:{{x}}{i}"));
        }

        Assert.Single(plain);
        Assert.True(emptyPair.Count > 8, $"16 keys under an empty pair landed in {emptyPair.Count} slots");
    }

    [Fact]
    public async Task Records_AreSpreadOverEveryPrimary_WithoutCrossSlotErrors()
    {
        await using var host = await RedisStoreHost.StartAsync(idempotency => idempotency.AddRedisStore(ConnectionString));
        var keys = Enumerable.Range(0, 60).Select(_ => NewKey()).ToArray();

        foreach (var key in keys)
        {
            var owner = NewOwner();
            Assert.Equal(ClaimStatus.Claimed, (await host.Store.ClaimAsync(Claim(key, owner), default)).Status);
            Assert.Equal(CompletionStatus.Completed, await host.Store.CompleteAsync(Complete(key, owner, [1]), default));
            Assert.Equal(ClaimStatus.Completed, (await host.Store.ClaimAsync(Claim(key, NewOwner()), default)).Status);
        }

        var multiplexer = await host.Services.GetRequiredService<RedisConnection>().GetMultiplexerAsync();
        var primaries = multiplexer.GetServers().Where(s => !s.IsReplica).ToArray();
        Assert.Equal(3, primaries.Length);
        foreach (var primary in primaries)
        {
            var held = keys.Count(key => primary.ClusterConfiguration!.GetBySlot((RedisKey)("idempotency:" + key))!.EndPoint!.Equals(primary.EndPoint));
            Assert.InRange(held, 1, keys.Length - 1);
            Assert.True(await primary.DatabaseSizeAsync() >= held);
        }
    }
}
