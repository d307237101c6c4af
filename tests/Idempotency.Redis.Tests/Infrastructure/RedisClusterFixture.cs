namespace Idempotency.Redis.Tests.Infrastructure;

/// <summary>A Redis Cluster (three primaries, a replica each) for one test class; started before its first test, deleted after its last.</summary>
public sealed class RedisClusterFixture : IAsyncLifetime
{
    private RedisCluster? _cluster;

    public RedisCluster Cluster => _cluster ?? throw new InvalidOperationException("The Redis Cluster has not started.");

    public async Task InitializeAsync() => _cluster = await RedisCluster.StartAsync();

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }
}
