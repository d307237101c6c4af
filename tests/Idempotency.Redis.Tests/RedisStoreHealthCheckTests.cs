using Idempotency.Redis.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;

namespace Idempotency.Redis.Tests;

/// <summary><c>AddHealthChecks().AddIdempotencyStore()</c> over the Redis store, against real servers.</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisStoreHealthCheckTests(RedisServerFixture redis)
{
    [Fact]
    public async Task HealthCheck_ReportsHealthy_WhenRedisAnswers_WithNoEviction()
    {
        await using var host = await StartAsync(redis.Server.ConnectionString());

        var entry = await CheckAsync(host);

        Assert.Equal(HealthStatus.Healthy, entry.Status);
        Assert.Equal("Redis answers, with maxmemory-policy noeviction.", entry.Description);
        Assert.Equal("noeviction", entry.Data["maxmemory-policy " + redis.Server.EndPoint]);
    }

    [Fact]
    public async Task HealthCheck_ReportsDegraded_WhenThePolicyMayEvict()
    {
        await using var server = await RedisServer.StartAsync("--maxmemory-policy", "allkeys-lru");
        await using var host = await StartAsync(server.ConnectionString());

        var entry = await CheckAsync(host);

        Assert.Equal(HealthStatus.Degraded, entry.Status);
        Assert.Contains($"Redis at {server.EndPoint} has maxmemory-policy 'allkeys-lru'", entry.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HealthCheck_ReportsHealthy_WhenThePolicyMayEvict_ButTheCheckIsIgnored()
    {
        await using var server = await RedisServer.StartAsync("--maxmemory-policy", "allkeys-lru");
        await using var host = await StartAsync(server.ConnectionString(), o => o.EvictionPolicyCheck = RedisEvictionPolicyCheck.Ignore);

        var entry = await CheckAsync(host);

        Assert.Equal(HealthStatus.Healthy, entry.Status);
        Assert.Contains("EvictionPolicyCheck is Ignore", entry.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HealthCheck_ReportsUnhealthy_WhenRedisIsStopped_AndHealthyAgainOnceItIsBack()
    {
        await using var server = await RedisServer.StartAsync();
        await using var host = await StartAsync(server.ConnectionString("connectTimeout=1000,asyncTimeout=1000"));
        Assert.Equal(HealthStatus.Healthy, (await CheckAsync(host)).Status);

        await server.StopAsync();
        var down = await CheckAsync(host);

        Assert.Equal(HealthStatus.Unhealthy, down.Status);
        Assert.StartsWith("The Redis idempotency store cannot reach Redis: ", down.Description, StringComparison.Ordinal);
        Assert.NotNull(down.Exception);

        await server.RestartAsync();
        var multiplexer = await host.Services.GetRequiredService<RedisConnection>().GetMultiplexerAsync();
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!multiplexer.IsConnected)
        {
            await Task.Delay(50, patience.Token); // reconnection is the client's business; the check only reports it
        }

        Assert.Equal(HealthStatus.Healthy, (await CheckAsync(host)).Status);
    }

    [Fact]
    public async Task HealthCheck_UsesTheApplicationsKeyedMultiplexer()
    {
        await using var appMultiplexer = await ConnectionMultiplexer.ConnectAsync(redis.Server.ConnectionString());
        await using var host = await RedisStoreHost.StartAsync(
            idempotency => idempotency.AddRedisStore(serviceKey: "cache"),
            services =>
            {
                services.AddKeyedSingleton<IConnectionMultiplexer>("cache", appMultiplexer);
                services.AddHealthChecks().AddIdempotencyStore();
            });

        Assert.Equal(HealthStatus.Healthy, (await CheckAsync(host)).Status);
    }

    private static Task<RedisStoreHost> StartAsync(string connectionString, Action<RedisIdempotencyStoreOptions>? configure = null) =>
        RedisStoreHost.StartAsync(
            idempotency => idempotency.AddRedisStore(connectionString, configure),
            services => services.AddHealthChecks().AddIdempotencyStore());

    private static async Task<HealthReportEntry> CheckAsync(RedisStoreHost host)
    {
        var report = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        return Assert.Single(report.Entries, e => e.Key == "idempotency-store").Value;
    }
}
