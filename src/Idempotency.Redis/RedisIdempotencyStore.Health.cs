using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;

namespace Idempotency.Redis;

/// <summary>
/// The store's health (<c>AddHealthChecks().AddIdempotencyStore()</c>): a round trip (<c>PING</c>) through the
/// store's own connection, then each connected primary's <c>maxmemory-policy</c>, read as the start-up check reads it.
/// </summary>
/// <remarks>
/// Unreachable is the registration's failure status (Unhealthy by default): every keyed request is refused meanwhile.
/// A policy other than <c>noeviction</c> is Degraded: requests succeed, but Redis may evict a record under memory
/// pressure and a retry of that request would run again. A policy that cannot be read is Healthy, with a note.
/// </remarks>
internal sealed partial class RedisIdempotencyStore : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        IConnectionMultiplexer multiplexer;
        TimeSpan latency;
        try
        {
            multiplexer = await _connection.GetMultiplexerAsync().AsTask().WaitAsync(cancellationToken).ConfigureAwait(false);
            latency = await multiplexer.GetDatabase().PingAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or RedisTimeoutException or TimeoutException)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, "The Redis idempotency store cannot reach Redis: " + ex.Message, ex);
        }

        var data = new Dictionary<string, object> { ["pingMilliseconds"] = latency.TotalMilliseconds };
        if (_evictionPolicyCheck == RedisEvictionPolicyCheck.Ignore)
        {
            return HealthCheckResult.Healthy("Redis answers (the eviction policy is not checked: EvictionPolicyCheck is Ignore).", data);
        }

        var notes = new List<string>();
        foreach (var server in multiplexer.GetEndPoints().Select(endPoint => multiplexer.GetServer(endPoint)).Where(s => s.IsConnected && !s.IsReplica))
        {
            var endPoint = RedisStoreInitializer.Describe(server.EndPoint);
            try
            {
                var (policy, refusal) = await RedisStoreInitializer.ReadEvictionPolicyAsync(server, cancellationToken).ConfigureAwait(false);
                if (policy is not null)
                {
                    data["maxmemory-policy " + endPoint] = policy;
                }

                if (policy == RedisStoreDefaults.GarnetMemoryOnlyPolicy)
                {
                    return HealthCheckResult.Degraded($"Garnet at {endPoint} runs without --storage-tier. " + RedisStoreDefaults.GarnetMemoryOnlyAdvice, data: data);
                }

                if (policy is not null && !RedisStoreDefaults.IsSafeEvictionPolicy(policy))
                {
                    return HealthCheckResult.Degraded(
                        $"Redis at {endPoint} has maxmemory-policy '{policy}': under memory pressure it may evict an idempotency record, " +
                        "and a retry of that request would run its operation again. Set 'maxmemory-policy noeviction'.",
                        data: data);
                }

                if (policy is null)
                {
                    notes.Add($" The maxmemory-policy of {endPoint} could not be read ({refusal}).");
                }
            }
            catch (Exception ex) when (ex is RedisException or RedisTimeoutException)
            {
                return new HealthCheckResult(context.Registration.FailureStatus, $"The Redis idempotency store cannot read the state of Redis at {endPoint}: {ex.Message}", ex, data);
            }
        }

        return HealthCheckResult.Healthy(notes.Count == 0 ? "Redis answers, with maxmemory-policy noeviction." : "Redis answers." + string.Concat(notes), data);
    }
}
