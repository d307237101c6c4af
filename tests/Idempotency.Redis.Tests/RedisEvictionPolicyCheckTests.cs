using Idempotency.Redis.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Idempotency.Redis.Tests;

/// <summary>The start-up checks (<c>maxmemory-policy</c>, scripts allowed), against servers started with the setting under test.</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisEvictionPolicyCheckTests(RedisServerFixture redis)
{
    private const string DisableConfig = "--rename-command"; // with an empty new name, the command is gone

    [Fact]
    public async Task Startup_LogsWarning_WhenPolicyIsNotNoEviction()
    {
        await using var server = await RedisServer.StartAsync("--maxmemory-policy", "allkeys-lru");

        await using var host = await RedisStoreHost.StartAsync(idempotency => idempotency.AddRedisStore(server.ConnectionString()));

        var warning = Assert.Single(host.LogsWithId(RedisLogEvents.EvictionPolicyUnsafe));
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Equal("RedisEvictionPolicyUnsafe", warning.Id.Name);
        Assert.Contains("'allkeys-lru'", warning.Message, StringComparison.Ordinal);
        Assert.Contains("noeviction", warning.Message, StringComparison.Ordinal);
        Assert.Contains(server.EndPoint, warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Startup_Throws_WhenPolicyIsNotNoEviction_AndCheckIsFail()
    {
        await using var server = await RedisServer.StartAsync("--maxmemory-policy", "volatile-ttl");
        await using var host = RedisStoreHost.Create(idempotency => idempotency.AddRedisStore(
            server.ConnectionString(), options => options.EvictionPolicyCheck = RedisEvictionPolicyCheck.Fail));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(host.StartAsync);

        Assert.Equal(
            $"Redis at {server.EndPoint} has maxmemory-policy 'volatile-ttl', but the idempotency store requires 'noeviction' " +
            "(RedisIdempotencyStoreOptions.EvictionPolicyCheck is Fail). Under memory pressure Redis could evict an idempotency " +
            "record, and a retry of that request would run its operation a second time. Set 'maxmemory-policy noeviction' " +
            "on this Redis, or give the idempotency store a Redis of its own.",
            error.Message);
    }

    [Fact]
    public async Task Startup_LogsNoWarning_AndDoesNotFail_WhenPolicyIsNoEviction()
    {
        await using var host = await RedisStoreHost.StartAsync(idempotency => idempotency.AddRedisStore(
            redis.Server.ConnectionString(), options => options.EvictionPolicyCheck = RedisEvictionPolicyCheck.Fail));

        Assert.DoesNotContain(host.Logs.GetSnapshot(), r => r.Level >= LogLevel.Warning);
        Assert.Single(host.LogsWithId(RedisLogEvents.EvictionPolicySafe));
    }

    [Fact]
    public async Task Startup_ReadsThePolicyFromInfo_WhenConfigIsDisabled()
    {
        await using var server = await RedisServer.StartAsync("--maxmemory-policy", "allkeys-lfu", DisableConfig, "CONFIG", string.Empty);

        await using var host = await RedisStoreHost.StartAsync(idempotency => idempotency.AddRedisStore(server.ConnectionString()));

        var warning = Assert.Single(host.LogsWithId(RedisLogEvents.EvictionPolicyUnsafe));
        Assert.Contains("'allkeys-lfu'", warning.Message, StringComparison.Ordinal);
        Assert.Empty(host.LogsWithId(RedisLogEvents.EvictionPolicyNotChecked));
    }

    [Fact]
    public async Task Startup_LogsThatThePolicyCouldNotBeChecked_WhenConfigAndInfoAreDisabled()
    {
        await using var server = await RedisServer.StartAsync(
            "--maxmemory-policy", "allkeys-lru", DisableConfig, "CONFIG", string.Empty, DisableConfig, "INFO", string.Empty);

        // Even in Fail mode: a policy that cannot be read is reported, not assumed unsafe.
        await using var host = await RedisStoreHost.StartAsync(idempotency => idempotency.AddRedisStore(
            server.ConnectionString(), options => options.EvictionPolicyCheck = RedisEvictionPolicyCheck.Fail));

        var warning = Assert.Single(host.LogsWithId(RedisLogEvents.EvictionPolicyNotChecked));
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains("Could not check the maxmemory-policy", warning.Message, StringComparison.Ordinal);
        Assert.Contains("unknown command 'config'", warning.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Empty(host.LogsWithId(RedisLogEvents.EvictionPolicyUnsafe));
    }

    [Fact]
    public async Task Startup_DoesNotCheckThePolicy_WhenCheckIsIgnore()
    {
        await using var server = await RedisServer.StartAsync("--maxmemory-policy", "allkeys-lru");

        await using var host = await RedisStoreHost.StartAsync(idempotency => idempotency.AddRedisStore(
            server.ConnectionString(), options => options.EvictionPolicyCheck = RedisEvictionPolicyCheck.Ignore));

        Assert.Empty(host.LogsWithId(RedisLogEvents.EvictionPolicyUnsafe));
        Assert.Empty(host.LogsWithId(RedisLogEvents.EvictionPolicyNotChecked));
        Assert.Empty(host.LogsWithId(RedisLogEvents.EvictionPolicySafe));
    }

    [Fact]
    public async Task Startup_LogsThatRedisIsUnreachable_AndStillStarts_WhenNothingListens()
    {
        string endPoint;
        await using (var stopped = await RedisServer.StartAsync())
        {
            endPoint = stopped.EndPoint; // a loopback port that was free a moment ago and is closed now
        }

        await using var host = await RedisStoreHost.StartAsync(idempotency => idempotency.AddRedisStore(
            $"{endPoint},connectTimeout=500", options => options.EvictionPolicyCheck = RedisEvictionPolicyCheck.Fail));

        var warning = Assert.Single(host.LogsWithId(RedisLogEvents.StartupChecksIncomplete));
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains($"no Redis primary is connected at {endPoint}", warning.Message, StringComparison.Ordinal);
        Assert.Contains("maxmemory-policy was not checked", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Startup_Throws_WhenRedisRefusesToRunTheStoresScripts()
    {
        await using var server = await RedisServer.StartAsync(DisableConfig, "EVALSHA", string.Empty);
        await using var host = RedisStoreHost.Create(idempotency => idempotency.AddRedisStore(server.ConnectionString()));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(host.StartAsync);

        Assert.StartsWith("The Redis idempotency store cannot run its Lua scripts on this Redis: ", error.Message, StringComparison.Ordinal);
        Assert.Contains("unknown command 'evalsha'", error.Message, StringComparison.OrdinalIgnoreCase);
    }
}
