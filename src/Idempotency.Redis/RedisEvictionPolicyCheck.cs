namespace Idempotency.Redis;

/// <summary>What the Redis store does at start-up when Redis's <c>maxmemory-policy</c> is not <c>noeviction</c>.</summary>
/// <remarks>
/// Under any other policy Redis may evict an idempotency record when it runs short of memory; a retry of that
/// request then finds no record and runs its operation a second time.
/// </remarks>
public enum RedisEvictionPolicyCheck
{
    /// <summary>Log a warning and start anyway.</summary>
    Warn,

    /// <summary>Throw at start-up, so the host does not start against a Redis that may evict records.</summary>
    Fail,

    /// <summary>Do not read the policy (for deployments that guarantee it some other way).</summary>
    Ignore,
}
