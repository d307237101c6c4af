using Microsoft.Extensions.Logging;

namespace Idempotency.Redis;

internal sealed partial class RedisStoreInitializer
{
    [LoggerMessage(EventId = RedisLogEvents.EvictionPolicyUnsafe, EventName = "RedisEvictionPolicyUnsafe", Level = LogLevel.Warning,
        Message = "Redis at {EndPoint} has maxmemory-policy '{Policy}'; the idempotency store needs 'noeviction'. Under memory pressure " +
                  "Redis could evict an idempotency record, and a retry of that request would run its operation a second time. " +
                  "Set 'maxmemory-policy noeviction' on this Redis, or give the store a Redis of its own.")]
    private partial void LogEvictionPolicyUnsafe(string endPoint, string policy);

    [LoggerMessage(EventId = RedisLogEvents.EvictionPolicyNotChecked, EventName = "RedisEvictionPolicyNotChecked", Level = LogLevel.Warning,
        Message = "Could not check the maxmemory-policy of Redis at {EndPoint} ({Refusal}). Make sure it is 'noeviction': " +
                  "an evicted idempotency record lets a retry run its operation again. Set EvictionPolicyCheck to Ignore once it is.")]
    private partial void LogEvictionPolicyNotChecked(string endPoint, string? refusal);

    [LoggerMessage(EventId = RedisLogEvents.EvictionPolicySafe, EventName = "RedisEvictionPolicySafe", Level = LogLevel.Debug,
        Message = "Redis at {EndPoint} has maxmemory-policy 'noeviction'.")]
    private partial void LogEvictionPolicySafe(string endPoint);

    [LoggerMessage(EventId = RedisLogEvents.StartupChecksIncomplete, EventName = "RedisStartupChecksIncomplete", Level = LogLevel.Warning,
        Message = "The idempotency store's start-up checks of Redis did not complete ({Reason}). While Redis is not reachable, requests " +
                  "with an idempotency key are refused; its maxmemory-policy was not checked.")]
    private partial void LogStartupChecksIncomplete(string reason);

    [LoggerMessage(EventId = RedisLogEvents.ScriptsLoaded, EventName = "RedisIdempotencyScriptsLoaded", Level = LogLevel.Debug,
        Message = "Loaded the idempotency scripts into Redis at {EndPoint}.")]
    private partial void LogScriptsLoaded(string endPoint);

    [LoggerMessage(EventId = RedisLogEvents.TooFewReplicas, EventName = "RedisIdempotencyTooFewReplicas", Level = LogLevel.Warning,
        Message = "Redis at {EndPoint} has {Replicas} replica(s) connected, but RedisIdempotencyStoreOptions.ReplicaAcknowledgements requires " +
                  "{Required}: until enough replicas are connected, every claim of a key on this primary is refused.")]
    private partial void LogTooFewReplicas(string endPoint, int replicas, int required);

    [LoggerMessage(EventId = RedisLogEvents.GarnetMemoryOnly, EventName = "RedisGarnetMemoryOnly", Level = LogLevel.Warning,
        Message = "The idempotency store's server at {EndPoint} is Garnet, started without --storage-tier. " + RedisStoreDefaults.GarnetMemoryOnlyAdvice)]
    private partial void LogGarnetMemoryOnly(string endPoint);

    [LoggerMessage(EventId = RedisLogEvents.GarnetStorageTier, EventName = "RedisGarnetStorageTier", Level = LogLevel.Debug,
        Message = "The idempotency store's server at {EndPoint} is Garnet with --storage-tier: records that leave memory spill to disk.")]
    private partial void LogGarnetStorageTier(string endPoint);
}
