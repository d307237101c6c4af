using Idempotency.Redis.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Idempotency.Redis.Tests;

/// <summary>
/// Load from two application instances on a Redis Cluster while the primary of the keys' slot fails over or the slot
/// migrates (after 150 operations, for 150 more); then every acknowledged operation is retried, and what runs again was lost. The tests share one
/// cluster: each disruption leaves it whole again (every slot served, every primary with a replica in sync), with
/// other nodes in other roles, and each test waits for that before it starts and finds the keys' primary anew. Figures go to the test output; docs/stores/redis.md quotes them.
/// </summary>
[Collection(RedisCollection.Name)]
[Trait("Lane", "Full")]
public sealed class RedisClusterFailoverTests(RedisClusterFixture redis, ITestOutputHelper output) : IClassFixture<RedisClusterFixture>
{
    private const int AcknowledgedBeforeDisruption = 150;
    private const int AcknowledgedAfterDisruption = 150;

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public async Task GracefulFailover_LosesNoAcknowledgedOperation(int replicaAcknowledgements)
    {
        var figures = await RunAsync(replicaAcknowledgements, async (cluster, primary, _) =>
        {
            // CLUSTER FAILOVER: the primary stops taking writes until its replica has caught up, then hands over.
            var replica = await cluster.ReplicaOfAsync(primary);
            await RedisCluster.CommandAsync(replica, "CLUSTER", "FAILOVER");
            await RedisCluster.WaitUntilPrimaryAsync(replica);
        });

        Assert.Equal(0, figures.AcknowledgedThenRerun);
        Assert.Equal(0, figures.ExecutedTwiceDuringLoad);
    }

    // No test of CLUSTER FAILOVER FORCE: what it loses depends on timing. Runs lost 0 to 63 acknowledged operations
    // without ReplicaAcknowledgements and 0 or 1 with it (and once ran one operation twice with only successes
    // answered), so neither "loses nothing" nor "loses less" held in every run; the figures are in docs/stores/redis.md.

    [Fact]
    public async Task KilledPrimary_LosesNoAcknowledgedOperation_AndRunsNoneTwice_WithReplicaAcknowledgement()
    {
        // Without the option a killed primary can lose what it had not yet sent (none was lost on loopback in our runs,
        // so nothing is asserted there); with it, every acknowledged write is on the replica that takes over. And no
        // operation runs twice: a completion that the kill kept from the primary (its connection dropped, it waited for
        // a node that had gone, or the killed node, restarted empty, answered "no record" before it learnt it was a
        // replica now) is sent again until its lease ends, and lands on the promoted replica, which has the claim.
        // Before completions were sent again for the whole lease, 1 to 11 operations per run ran twice (6 runs of 6).
        var figures = await RunAsync(1, async (cluster, primary, _) =>
        {
            // SIGKILL: whatever the primary acknowledged but had not yet sent to its replica is gone. Then the killed
            // node is started again and rejoins as the new primary's replica, as an operator would bring it back:
            // until then, with ReplicaAcknowledgements = 1, the new primary has no replica to acknowledge anything.
            var replica = await cluster.ReplicaOfAsync(primary);
            await primary.StopAsync();
            await RedisCluster.WaitUntilPrimaryAsync(replica);
            await primary.RestartAsync();
            await cluster.WaitUntilReadyAsync();
        });

        Assert.Equal(0, figures.AcknowledgedThenRerun);
        Assert.Equal(0, figures.ExecutedTwiceDuringLoad);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public async Task SlotMigration_LosesNothing_AndRunsNothingTwice(int replicaAcknowledgements)
    {
        var figures = await RunAsync(replicaAcknowledgements, async (cluster, primary, slot) => await cluster.MigrateSlotAsync(slot, TimeSpan.FromMilliseconds(50)));

        Assert.Equal(0, figures.AcknowledgedThenRerun);
        Assert.Equal(0, figures.ExecutedTwiceDuringLoad);
        Assert.Equal(0, figures.RefusedAtLeastOnce);
    }

    private async Task<LoadFigures> RunAsync(int replicaAcknowledgements, Func<RedisCluster, RedisServer, int, Task> disrupt, [System.Runtime.CompilerServices.CallerMemberName] string scenario = "")
    {
        var cluster = redis.Cluster;
        await cluster.WaitUntilReadyAsync();
        var load = new ClusterLoad($"{scenario}-{replicaAcknowledgements}");
        var instances = await ClusterLoad.StartInstancesAsync(cluster, replicaAcknowledgements);
        try
        {
            var primary = await cluster.PrimaryOfSlotAsync(load.Slot);
            await load.RunAsync(instances, AcknowledgedBeforeDisruption, () => disrupt(cluster, primary, load.Slot), AcknowledgedAfterDisruption);
            await using var retrier = await RedisStoreHost.StartAsync(
                idempotency => idempotency.AddRedisStore(cluster.ConnectionString()),
                services => services.Configure<IdempotentExecutorOptions>(options => options.LeaseDuration = ClusterLoad.Lease));
            var figures = await load.VerifyAsync(retrier);
            output.WriteLine($"{scenario}, ReplicaAcknowledgements = {replicaAcknowledgements}: {figures}");
            return figures;
        }
        finally
        {
            foreach (var instance in instances)
            {
                await instance.DisposeAsync();
            }
        }
    }
}
