using Idempotency.Redis.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using static Idempotency.Redis.Tests.Infrastructure.TestPayloads;

namespace Idempotency.Redis.Tests;

/// <summary>Two application instances (two service providers, two multiplexers) sharing one Redis.</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisStoreMultiInstanceTests(RedisServerFixture redis) : RedisMultiInstanceTests
{
    protected override string ConnectionString => redis.Server.ConnectionString();
}

/// <summary>What two application instances sharing one Redis (a server or a cluster) must see: one winner, one execution.</summary>
public abstract class RedisMultiInstanceTests
{
    private const int Duplicates = 64;

    [Fact]
    public async Task ConcurrentClaims_AcrossTwoInstances_HaveExactlyOneWinner()
    {
        await using var first = await StartInstanceAsync();
        await using var second = await StartInstanceAsync();
        IIdempotencyStore[] stores = [first.Store, second.Store];
        var key = NewKey();
        using var start = new ManualResetEventSlim();

        var claims = Enumerable.Range(0, Duplicates).Select(i => Task.Run(async () =>
        {
            start.Wait();
            return (await stores[i % 2].ClaimAsync(Claim(key, NewOwner()), default)).Status;
        })).ToArray();
        start.Set();
        var statuses = await Task.WhenAll(claims);

        Assert.Equal(1, statuses.Count(s => s == ClaimStatus.Claimed));
        Assert.Equal(Duplicates - 1, statuses.Count(s => s == ClaimStatus.InFlight));
    }

    [Fact]
    public async Task Executor_RunsTheOperationOnce_ForDuplicatesSpreadAcrossTwoInstances()
    {
        await using var first = await StartInstanceAsync();
        await using var second = await StartInstanceAsync();
        IdempotentExecutor[] executors = [first.Executor, second.Executor];
        var operation = new IdempotentOperation(Guid.NewGuid().ToString(), "{\"amount\":100}"u8.ToArray(), scope: "account-42");
        var executions = 0;
        using var start = new ManualResetEventSlim();

        var calls = Enumerable.Range(0, Duplicates).Select(i => Task.Run(async () =>
        {
            start.Wait();
            try
            {
                return await executors[i % 2].ExecuteAsync(
                    operation,
                    async _ =>
                    {
                        var execution = Interlocked.Increment(ref executions);
                        await Task.Delay(50); // long enough for the duplicates to arrive while it runs
                        return execution;
                    },
                    TestJsonContext.Default.Int32);
            }
            catch (IdempotentOperationInFlightException)
            {
                return (IdempotentResult<int>?)null;
            }
        })).ToArray();
        start.Set();
        var results = await Task.WhenAll(calls);
        var afterwards = await executors[1].ExecuteAsync(operation, _ => ValueTask.FromResult(-1), TestJsonContext.Default.Int32);

        Assert.Equal(1, executions);
        Assert.Single(results, r => r is { IsReplay: false });
        Assert.All(results.OfType<IdempotentResult<int>>(), r => Assert.Equal(1, r.Value));
        Assert.Equal(new IdempotentResult<int>(1, IsReplay: true), afterwards);
    }

    protected abstract string ConnectionString { get; }

    private Task<RedisStoreHost> StartInstanceAsync() =>
        RedisStoreHost.StartAsync(idempotency => idempotency.AddRedisStore(ConnectionString));
}
