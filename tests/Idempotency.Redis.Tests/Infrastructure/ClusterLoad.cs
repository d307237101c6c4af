using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;

namespace Idempotency.Redis.Tests.Infrastructure;

/// <summary>
/// Load on a Redis Cluster from two application instances while something happens to the cluster (a fail-over, a
/// slot migration), then the count of what was lost. Every key is one operation, sent as two concurrent duplicates
/// (one per instance) by a client that retries until it has an answer, as an HTTP client retries a 503. All keys
/// share one hash tag, so they live in one slot, on one primary: the one the disruption hits.
/// </summary>
public sealed class ClusterLoad
{
    /// <summary>
    /// The lease of every claim: longer than an operation and its completion take through a fail-over on a loaded
    /// machine, and short enough that a claim whose completion was lost ends within the test. A completion that a
    /// fail-over keeps from the primary is sent again until the lease ends, so the lease must outlast the outage: a
    /// killed primary's slot takes about 7 s here to accept acknowledged writes again (its replica is promoted after
    /// <c>cluster-node-timeout</c>, then waits for the restarted node to become its replica). At 3 s, completions gave
    /// up before that, and the duplicate on the other instance ran up to 8 operations again per run; at 1 s, even a
    /// graceful fail-over under the whole suite's load saw 9 operations outlive their lease.
    /// </summary>
    public static readonly TimeSpan Lease = TimeSpan.FromSeconds(10);

    private const int Clients = 16;
    private readonly ConcurrentDictionary<string, int> _executions = new();
    private readonly ConcurrentDictionary<string, bool> _acknowledged = new();
    private readonly ConcurrentDictionary<string, bool> _refusedFirst = new();
    private readonly string _tag;
    private int _next;

    public ClusterLoad(string tag)
    {
        _tag = tag;
    }

    /// <summary>Gets the key prefix's hash tag; every key of this load hashes to its slot.</summary>
    public string StorageKeyOf(int i) => IdempotencyStorageKey.Create("load", KeyOf(i));

    /// <summary>Gets the slot every key of this load lives in (with the store's default prefix).</summary>
    public int Slot => RedisCluster.HashSlot("idempotency:" + StorageKeyOf(0));

    /// <summary>Starts two application instances on <paramref name="cluster"/>, as <c>AddIdempotentExecutor().AddRedisStore(...)</c> would.</summary>
    public static async Task<RedisStoreHost[]> StartInstancesAsync(RedisCluster cluster, int replicaAcknowledgements)
    {
        var instances = new List<RedisStoreHost>();
        for (var i = 0; i < 2; i++)
        {
            instances.Add(await RedisStoreHost.StartAsync(
                idempotency => idempotency.AddRedisStore(cluster.ConnectionString("asyncTimeout=2000,connectTimeout=2000,configCheckSeconds=1"), options =>
                {
                    options.ReplicaAcknowledgements = replicaAcknowledgements;
                    options.ReplicaAcknowledgementTimeout = TimeSpan.FromMilliseconds(500);
                }),
                services => services.Configure<IdempotentExecutorOptions>(options => options.LeaseDuration = Lease)));
        }

        return [.. instances];
    }

    /// <summary>
    /// Runs the load: clients send operations until <paramref name="disrupt"/> has finished and <paramref name="after"/>
    /// more operations have been acknowledged, <paramref name="disrupt"/> starting once <paramref name="before"/> are.
    /// </summary>
    public async Task RunAsync(RedisStoreHost[] instances, int before, Func<Task> disrupt, int after)
    {
        using var stop = new CancellationTokenSource();
        var clients = Enumerable.Range(0, Clients).Select(_ => Task.Run(() => ClientAsync(instances, stop.Token))).ToArray();
        var deadline = Stopwatch.StartNew();
        while (_acknowledged.Count < before)
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(30), $"Only {_acknowledged.Count} operations were acknowledged before the disruption.");
            await Task.Delay(10);
        }

        await disrupt();
        var target = _acknowledged.Count + after;
        deadline.Restart();
        while (_acknowledged.Count < target)
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(30), $"Only {_acknowledged.Count - target + after} operations were acknowledged after the disruption.");
            await Task.Delay(10);
        }

        await stop.CancelAsync();
        await Task.WhenAll(clients);
    }

    /// <summary>
    /// Sends every acknowledged key once more, through a new instance (a client's retry of a request whose answer it
    /// never saw), waiting out any lease, and counts what ran a second time.
    /// </summary>
    public async Task<LoadFigures> VerifyAsync(RedisStoreHost retrier)
    {
        var rerun = 0;
        var executedTwice = _executions.Count(e => e.Value > 1);
        var executedTwiceUnrefused = _executions.Count(e => e.Value > 1 && !_refusedFirst.ContainsKey(e.Key));
        foreach (var key in _acknowledged.Keys)
        {
            var before = _executions[key];
            await ExecuteUntilAnsweredAsync(retrier, key, TimeSpan.FromSeconds(30), CancellationToken.None);
            if (_executions[key] > before)
            {
                rerun++;
            }
        }

        return new LoadFigures(
            Acknowledged: _acknowledged.Count,
            RefusedAtLeastOnce: _refusedFirst.Count,
            ExecutedTwiceDuringLoad: executedTwice,
            ExecutedTwiceNeverRefused: executedTwiceUnrefused,
            AcknowledgedThenRerun: rerun,
            Executions: _executions.Values.Sum());
    }

    private string KeyOf(int i) => string.Create(CultureInfo.InvariantCulture, $"{{{_tag}}}-{i}");

    private async Task ClientAsync(RedisStoreHost[] instances, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            var key = KeyOf(Interlocked.Increment(ref _next));

            // Two duplicates at once, one per instance; each retried until it has an answer.
            var duplicates = instances.Select(instance => ExecuteUntilAnsweredAsync(instance, key, TimeSpan.FromSeconds(20), stop)).ToArray();
            var answered = await Task.WhenAll(duplicates);
            if (answered.All(a => a))
            {
                _acknowledged[key] = true;
            }
        }
    }

    private async Task<bool> ExecuteUntilAnsweredAsync(RedisStoreHost instance, string key, TimeSpan patience, CancellationToken stop)
    {
        var operation = new IdempotentOperation(key, "{\"amount\":1}"u8.ToArray(), scope: "load");
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < patience)
        {
            try
            {
                await instance.Executor.ExecuteAsync(
                    operation,
                    _ =>
                    {
                        _executions.AddOrUpdate(key, 1, (_, n) => n + 1);
                        return ValueTask.FromResult(1);
                    },
                    TestJsonContext.Default.Int32,
                    CancellationToken.None);
                return true;
            }
            catch (IdempotentOperationInFlightException inFlight)
            {
                // The duplicate runs for microseconds: ask again soon (a lost completion keeps answering this for a lease).
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(inFlight.RetryAfter.TotalMilliseconds, 5)), CancellationToken.None);
            }
            catch (IdempotencyStoreException)
            {
                // 503 (store unavailable) or 500 (outcome unknown): the client retries.
                _refusedFirst[key] = true;
                await Task.Delay(50, CancellationToken.None);
            }

            if (stop.IsCancellationRequested && !_executions.ContainsKey(key))
            {
                return false; // the load is over and this key never ran: leave it
            }
        }

        return false;
    }
}

/// <summary>What a disruption cost.</summary>
/// <param name="Acknowledged">Operations whose every duplicate got an answer (a result or a replay).</param>
/// <param name="RefusedAtLeastOnce">Operations of which some attempt was refused (store unavailable, outcome not confirmed) and retried.</param>
/// <param name="ExecutedTwiceDuringLoad">Operations that ran more than once while the load ran.</param>
/// <param name="ExecutedTwiceNeverRefused">
/// Of those, the ones no attempt of which was refused: every answer the client saw was a success, yet the operation
/// ran twice (a record was lost after it was acknowledged). Those with a refusal may legitimately run again: the
/// client was told the outcome was not confirmed, and the claim ended with its lease.
/// </param>
/// <param name="AcknowledgedThenRerun">Acknowledged operations that a later retry ran again: their record was lost.</param>
/// <param name="Executions">Executions in all.</param>
public sealed record LoadFigures(int Acknowledged, int RefusedAtLeastOnce, int ExecutedTwiceDuringLoad, int ExecutedTwiceNeverRefused, int AcknowledgedThenRerun, int Executions);
