using StackExchange.Redis;

namespace Idempotency.Redis;

/// <summary>
/// Replica acknowledgement (<see cref="RedisIdempotencyStoreOptions.ReplicaAcknowledgements"/>): <c>WAIT</c> right
/// behind the claim and completion scripts. Redis forbids <c>WAIT</c> inside a script, and <c>WAIT</c> counts the
/// replicas that have every write of the connection it arrives on, so it is pipelined behind the script on the
/// connection to the same primary: one round trip.
/// </summary>
internal sealed partial class RedisIdempotencyStore
{
    private async Task<(RedisResult Reply, long Replicas)> EvaluateAcknowledgedAsync(
        IConnectionMultiplexer multiplexer, RedisScript script, RedisKey key, RedisValue[] arguments)
    {
        var database = multiplexer.GetDatabase();
        var (isCluster, primary) = ClusterPrimaryOf(multiplexer, key);
        if (isCluster && primary is null)
        {
            // StackExchange.Redis has not read the cluster's topology yet: no primary to pipeline to.
            return await EvaluateThenWaitAsync(multiplexer, database, script, key, arguments).ConfigureAwait(false);
        }

        var cached = true;
        while (true)
        {
            Task<RedisResult> evaluation, wait;
            if (primary is null)
            {
                // One primary (standalone or replication): the database sends both on its one connection. Both demand
                // the primary: a script let go to a replica while StackExchange.Redis knows of no primary (PreferMaster)
                // would run on a replica just promoted behind its back, and the WAIT, finding no primary, would count
                // nothing; the call fails instead (no connection available), and a completion is sent again.
                evaluation = cached
                    ? database.ScriptEvaluateAsync(script.Hash, [key], arguments, CommandFlags.DemandMaster)
                    : database.ScriptEvaluateAsync(script.Text, [key], arguments, CommandFlags.DemandMaster | CommandFlags.NoScriptCache);
                wait = database.ExecuteAsync("WAIT", [_replicaAcknowledgements, _replicaAcknowledgementTimeoutMilliseconds], CommandFlags.DemandMaster);
            }
            else
            {
                // Both to the slot's primary by its own connection. NoRedirect: a script that StackExchange.Redis
                // re-sent to another node (MOVED, ASK) would run where this WAIT does not look.
                object[] command = [cached ? script.HexHash : script.Text, 1, key, .. arguments.Cast<object>()];
                evaluation = primary.ExecuteAsync(cached ? "EVALSHA" : "EVAL", command, CommandFlags.NoRedirect);
                wait = primary.ExecuteAsync("WAIT", [_replicaAcknowledgements, _replicaAcknowledgementTimeoutMilliseconds]);
            }

            try
            {
                var reply = await evaluation.ConfigureAwait(false);
                return (reply, await ReplicasAsync(wait).ConfigureAwait(false));
            }
            catch (RedisServerException ex) when (cached && ex.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal))
            {
                // As EvaluateOnceAsync: send the text once, which caches it again; and wait behind that.
                await ReplicasAsync(wait).ConfigureAwait(false);
                LogScriptReloaded(script.Name);
                cached = false;
            }
            catch (RedisException ex) when (primary is not null)
            {
                if (await IsRedirectAsync(ex, wait).ConfigureAwait(false))
                {
                    // The slot moved or is moving: the script did not run. Let StackExchange.Redis follow the redirect.
                    return await EvaluateThenWaitAsync(multiplexer, database, script, key, arguments).ConfigureAwait(false);
                }

                throw;
            }
            catch
            {
                Observe(wait);
                throw;
            }
        }
    }

    // Three round trips, only while the cluster's topology changes under the store: the script wherever
    // StackExchange.Redis routes it (following MOVED and ASK), then the node that answers for the key by the same
    // routing, then WAIT on that node's connection, the one the script's write went over.
    private async Task<(RedisResult Reply, long Replicas)> EvaluateThenWaitAsync(
        IConnectionMultiplexer multiplexer, IDatabaseAsync database, RedisScript script, RedisKey key, RedisValue[] arguments)
    {
        var reply = await EvaluateOnceAsync(database, script, [key], arguments).ConfigureAwait(false);
        if (await database.IdentifyEndpointAsync(key).ConfigureAwait(false) is not { } endPoint)
        {
            return (reply, 0);
        }

        var wait = multiplexer.GetServer(endPoint).ExecuteAsync("WAIT", [_replicaAcknowledgements, _replicaAcknowledgementTimeoutMilliseconds]);
        return (reply, await ReplicasAsync(wait).ConfigureAwait(false));
    }

    // Whether the cluster's topology (as StackExchange.Redis last read it) names the primary serving the key's slot.
    internal static (bool IsCluster, IServer? Primary) ClusterPrimaryOf(IConnectionMultiplexer multiplexer, RedisKey key)
    {
        var servers = multiplexer.GetServers();
        if (servers.Length == 0 || servers[0].ServerType != ServerType.Cluster)
        {
            return (false, null);
        }

        var slot = multiplexer.HashSlot(key);
        foreach (var server in servers)
        {
            if (server.IsConnected && server.ClusterConfiguration?.GetBySlot(slot) is { EndPoint: { } endPoint })
            {
                return (true, multiplexer.GetServer(endPoint));
            }
        }

        return (true, null);
    }

    // With NoRedirect, StackExchange.Redis reports MOVED as a server error naming MOVED, and ASK as an UnableToConnect
    // connection failure. Told apart from a real one by the WAIT on the same connection, which got an answer.
    private static async Task<bool> IsRedirectAsync(RedisException exception, Task<RedisResult> wait)
    {
        if (exception is RedisServerException moved && moved.Message.Contains("MOVED", StringComparison.Ordinal))
        {
            Observe(wait); // its answer does not matter
            return true;
        }

        if (exception is not RedisConnectionException { FailureType: ConnectionFailureType.UnableToConnect })
        {
            Observe(wait);
            return false;
        }

        try
        {
            await wait.ConfigureAwait(false);
            return true;
        }
        catch (RedisServerException)
        {
            return true; // an error reply is still an answer: the connection works
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            return false;
        }
    }

    // A WAIT whose answer no longer matters must not surface as an unobserved task exception.
    private static void Observe(Task wait) =>
        wait.ContinueWith(static task => _ = task.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    // A WAIT that fails (the connection dropped after the script, the node became a replica) acknowledges nothing.
    private async Task<long> ReplicasAsync(Task<RedisResult> wait)
    {
        try
        {
            var reply = await wait.ConfigureAwait(false);
            return reply.Resp2Type == ResultType.Integer ? (long)reply : 0;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            LogReplicaAcknowledgementFailed(ex);
            return 0;
        }
    }

    // Best effort: a claim the replicas did not confirm is withdrawn so a retry need not wait for its lease.
    private async Task WithdrawUnacknowledgedClaimAsync(string key, string ownerToken)
    {
        try
        {
            await EvaluateAsync(RedisScript.Release, key, [ownerToken], acknowledged: false, CancellationToken.None).ConfigureAwait(false);
        }
        catch (IdempotencyStoreException)
        {
            // Already logged; the claim ends with its lease.
        }
    }

    private IdempotencyStoreException NotAcknowledged(RedisScript script, long replicas)
    {
        var timeout = _replicaAcknowledgementTimeoutMilliseconds;
        LogReplicaAcknowledgementMissing(script.Name, replicas, _replicaAcknowledgements, timeout);
        return script == RedisScript.Claim
            ? new($"The Redis idempotency store could not claim the key: {replicas} of the {_replicaAcknowledgements} replicas required " +
                  $"(ReplicaAcknowledgements) acknowledged the claim within {timeout} ms, so a fail-over could lose it. The claim was " +
                  "withdrawn and the operation must not run; check the health of the primary's replicas.")
            : new($"The Redis idempotency store recorded the outcome on the primary, but {replicas} of the {_replicaAcknowledgements} " +
                  $"replicas required (ReplicaAcknowledgements) acknowledged it within {timeout} ms, so a fail-over could lose it. " +
                  "A retry replays the outcome while the primary keeps it.");
    }
}
