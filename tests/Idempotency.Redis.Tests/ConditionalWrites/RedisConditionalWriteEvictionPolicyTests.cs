using Idempotency.Redis.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace Idempotency.Redis.Tests.ConditionalWrites;

/// <summary>
/// The conditional-write stores' start-up check of <c>maxmemory-policy</c>, against servers started with the policy
/// under test: an evicted record starts again at version 1 and an evicted stream at entry 1, so a policy that evicts
/// is reported (or refused) as the idempotency store reports it.
/// </summary>
[Collection(RedisCollection.Name)]
public sealed class RedisConditionalWriteEvictionPolicyTests(RedisServerFixture redis)
{
    [Fact]
    public async Task Startup_LogsWarning_WhenPolicyIsNotNoEviction()
    {
        await using var server = await RedisServer.StartAsync("--maxmemory-policy", "allkeys-lru");

        await using var host = await RedisConditionalWriteHost.StartAsync(server.ConnectionString());

        var warning = Assert.Single(host.LogsWithId(RedisLogEvents.ConditionalWritesEvictionPolicyUnsafe));
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Equal("RedisConditionalWritesEvictionPolicyUnsafe", warning.Id.Name);
        Assert.Contains("'allkeys-lru'", warning.Message, StringComparison.Ordinal);
        Assert.Contains("noeviction", warning.Message, StringComparison.Ordinal);
        Assert.Contains("version 1", warning.Message, StringComparison.Ordinal);
        Assert.Contains(server.EndPoint, warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Startup_Throws_WhenPolicyIsNotNoEviction_AndCheckIsFail()
    {
        await using var server = await RedisServer.StartAsync("--maxmemory-policy", "volatile-lru");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => RedisConditionalWriteHost.StartAsync(
            server.ConnectionString(), options => options.EvictionPolicyCheck = RedisEvictionPolicyCheck.Fail));

        Assert.StartsWith(
            $"Redis at {server.EndPoint} has maxmemory-policy 'volatile-lru', but the conditional-write stores require 'noeviction' " +
            "(RedisConditionalWriteOptions.EvictionPolicyCheck is Fail).",
            error.Message,
            StringComparison.Ordinal);
        Assert.Contains("Set 'maxmemory-policy noeviction'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Startup_ReadsThePolicyFromInfo_WhenConfigIsDisabled()
    {
        await using var server = await RedisServer.StartAsync("--maxmemory-policy", "allkeys-lfu", "--rename-command", "CONFIG", string.Empty);

        await using var host = await RedisConditionalWriteHost.StartAsync(server.ConnectionString());

        var warning = Assert.Single(host.LogsWithId(RedisLogEvents.ConditionalWritesEvictionPolicyUnsafe));
        Assert.Contains("'allkeys-lfu'", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Startup_LogsThatThePolicyCouldNotBeChecked_WhenConfigAndInfoAreDisabled()
    {
        await using var server = await RedisServer.StartAsync(
            "--maxmemory-policy", "allkeys-lru", "--rename-command", "CONFIG", string.Empty, "--rename-command", "INFO", string.Empty);

        // Even in Fail mode: a policy that cannot be read is reported, not assumed unsafe.
        await using var host = await RedisConditionalWriteHost.StartAsync(
            server.ConnectionString(), options => options.EvictionPolicyCheck = RedisEvictionPolicyCheck.Fail);

        var warning = Assert.Single(host.LogsWithId(RedisLogEvents.ConditionalWritesEvictionPolicyNotChecked));
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains("unknown command 'config'", warning.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Empty(host.LogsWithId(RedisLogEvents.ConditionalWritesEvictionPolicyUnsafe));
    }

    [Fact]
    public async Task Startup_LogsNoWarning_AndDoesNotFail_WhenPolicyIsNoEviction()
    {
        await using var host = await RedisConditionalWriteHost.StartAsync(
            redis.Server.ConnectionString(), options => options.EvictionPolicyCheck = RedisEvictionPolicyCheck.Fail);

        Assert.DoesNotContain(host.Logs.GetSnapshot(), r => r.Level >= LogLevel.Warning);
        Assert.Single(host.LogsWithId(RedisLogEvents.ConditionalWritesEvictionPolicySafe));
    }

    [Fact]
    public async Task Startup_DoesNotCheckThePolicy_WhenCheckIsIgnore()
    {
        await using var server = await RedisServer.StartAsync("--maxmemory-policy", "allkeys-lru");

        await using var host = await RedisConditionalWriteHost.StartAsync(
            server.ConnectionString(), options => options.EvictionPolicyCheck = RedisEvictionPolicyCheck.Ignore);

        Assert.Empty(host.LogsWithId(RedisLogEvents.ConditionalWritesEvictionPolicyUnsafe));
        Assert.Empty(host.LogsWithId(RedisLogEvents.ConditionalWritesEvictionPolicyNotChecked));
        Assert.Empty(host.LogsWithId(RedisLogEvents.ConditionalWritesEvictionPolicySafe));
    }
}
