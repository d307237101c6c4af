using Idempotency.Redis.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using static Idempotency.Redis.Tests.Infrastructure.TestPayloads;

namespace Idempotency.Redis.Tests;

/// <summary>Redis goes away and comes back: every call fails as a store failure meanwhile, and the same store recovers by itself.</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisStoreFailureTests
{
    // Short timeouts so a call against a dead server fails quickly; the hang guard below only stops a broken test.
    private const string ShortTimeouts = "connectTimeout=500,asyncTimeout=1000,syncTimeout=1000,connectRetry=1";
    private static readonly TimeSpan s_hangGuard = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Operations_ThrowStoreException_WhileRedisIsDown_AndTheSameStoreRecovers_WhenRedisIsBack()
    {
        await using var server = await RedisServer.StartAsync();
        await using var host = await RedisStoreHost.StartAsync(idempotency => idempotency.AddRedisStore(server.ConnectionString(ShortTimeouts)));
        var store = host.Store;
        var heldKey = NewKey();
        var heldOwner = NewOwner();
        Assert.Equal(ClaimStatus.Claimed, (await store.ClaimAsync(Claim(heldKey, heldOwner), default)).Status);

        await server.StopAsync();
        var claimFailure = await Assert.ThrowsAsync<IdempotencyStoreException>(() => store.ClaimAsync(Claim(NewKey(), NewOwner()), default).AsTask().WaitAsync(s_hangGuard));
        var completeFailure = await Assert.ThrowsAsync<IdempotencyStoreException>(() => store.CompleteAsync(Complete(heldKey, heldOwner, [1]), default).AsTask().WaitAsync(s_hangGuard));
        var releaseFailure = await Assert.ThrowsAsync<IdempotencyStoreException>(() => store.ReleaseAsync(heldKey, heldOwner, default).AsTask().WaitAsync(s_hangGuard));

        // Counted before the restart: the recovery loop's own failed attempts, if Redis is still starting, log too.
        var warnings = host.LogsWithId(RedisLogEvents.OperationFailed).Count(r => r.Level == LogLevel.Warning);
        await server.RestartAsync();
        var recovered = await ClaimWhenRedisAnswersAsync(store, NewKey());

        foreach (var failure in new[] { claimFailure, completeFailure, releaseFailure })
        {
            Assert.True(failure.InnerException is RedisConnectionException or RedisTimeoutException, $"Unexpected inner exception: {failure.InnerException}");
            Assert.StartsWith("The Redis idempotency store could not", failure.Message, StringComparison.Ordinal);
        }

        Assert.Contains("claim", claimFailure.Message, StringComparison.Ordinal);
        Assert.Contains("complete", completeFailure.Message, StringComparison.Ordinal);
        Assert.Contains("release", releaseFailure.Message, StringComparison.Ordinal);
        Assert.Equal(3, warnings);
        Assert.Equal(ClaimStatus.Claimed, recovered.Status);
    }

    [Fact]
    public async Task Executor_NeverRunsTheOperation_WhileRedisIsDown()
    {
        await using var server = await RedisServer.StartAsync();
        await using var host = await RedisStoreHost.StartAsync(idempotency => idempotency.AddRedisStore(server.ConnectionString(ShortTimeouts)));
        var operation = new IdempotentOperation(Guid.NewGuid().ToString(), "{}"u8.ToArray());
        var executions = 0;
        await server.StopAsync();

        await Assert.ThrowsAsync<IdempotencyStoreException>(() => host.Executor.ExecuteAsync(
            operation,
            _ => ValueTask.FromResult(Interlocked.Increment(ref executions)),
            TestJsonContext.Default.Int32).AsTask().WaitAsync(s_hangGuard));

        Assert.Equal(0, executions);
    }

    [Fact]
    public async Task NewKeyAndReplay_WorkAgain_AfterRedisRestarted_WithoutItsScripts()
    {
        await using var server = await RedisServer.StartAsync();
        await using var host = await RedisStoreHost.StartAsync(idempotency => idempotency.AddRedisStore(server.ConnectionString(ShortTimeouts)));
        var store = host.Store;

        await server.RestartAsync(); // a new process: empty script cache, no data
        var key = NewKey();
        var owner = NewOwner();
        var claim = await ClaimWhenRedisAnswersAsync(store, key, owner);
        var completion = await store.CompleteAsync(Complete(key, owner, [7, 7]), default);
        var replay = await store.ClaimAsync(Claim(key, NewOwner()), default);

        Assert.Equal(ClaimStatus.Claimed, claim.Status);
        Assert.Equal(CompletionStatus.Completed, completion);
        Assert.Equal(ClaimStatus.Completed, replay.Status);
        Assert.Equal(new byte[] { 7, 7 }, replay.Payload.ToArray());
        Assert.NotEmpty(host.LogsWithId(RedisLogEvents.ScriptReloaded));
    }

    [Fact]
    public async Task Claim_ThrowsStoreException_WhenRedisWasNeverReachable()
    {
        string endPoint;
        await using (var stopped = await RedisServer.StartAsync())
        {
            endPoint = stopped.EndPoint;
        }

        await using var host = await RedisStoreHost.StartAsync(idempotency => idempotency.AddRedisStore($"{endPoint},{ShortTimeouts}"));

        var failure = await Assert.ThrowsAsync<IdempotencyStoreException>(() => host.Store.ClaimAsync(Claim(NewKey(), NewOwner()), default).AsTask().WaitAsync(s_hangGuard));

        Assert.True(failure.InnerException is RedisConnectionException or RedisTimeoutException, $"Unexpected inner exception: {failure.InnerException}");
    }

    [Fact]
    public async Task Claim_ThrowsStoreException_WhenAnotherProgramUsesTheKey()
    {
        await using var server = await RedisServer.StartAsync();
        await using var admin = await RedisAdmin.ConnectAsync(server);
        await using var host = await RedisStoreHost.StartAsync(idempotency => idempotency.AddRedisStore(server.ConnectionString()));
        var key = NewKey();
        await admin.Database.StringSetAsync("idempotency:" + key, "not a record");

        var failure = await Assert.ThrowsAsync<IdempotencyStoreException>(() => host.Store.ClaimAsync(Claim(key, NewOwner()), default).AsTask());

        Assert.IsType<RedisServerException>(failure.InnerException);
        Assert.Contains("WRONGTYPE", failure.Message, StringComparison.Ordinal);
    }

    // Polls until the reconnected store answers; only store failures are retried, and only for a bounded time.
    private static async Task<IdempotencyClaimResult> ClaimWhenRedisAnswersAsync(IIdempotencyStore store, string key, string? owner = null)
    {
        var deadline = DateTime.UtcNow + s_hangGuard;
        while (true)
        {
            try
            {
                return await store.ClaimAsync(Claim(key, owner ?? NewOwner()), default);
            }
            catch (IdempotencyStoreException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }
}
