namespace Idempotency.Redis;

/// <summary>The default of every Redis store option and the names it logs under, in one place, so documentation and tests agree with the code.</summary>
internal static class RedisStoreDefaults
{
    public const string KeyPrefix = "idempotency:";
    public const RedisEvictionPolicyCheck EvictionPolicyCheck = RedisEvictionPolicyCheck.Warn;
    public static readonly TimeSpan LeaseGracePeriod = TimeSpan.FromMinutes(1);
    public const int ReplicaAcknowledgements = 0;
    public static readonly TimeSpan ReplicaAcknowledgementTimeout = TimeSpan.FromMilliseconds(500);

    /// <summary>The only <c>maxmemory-policy</c> under which Redis never drops a record it was asked to keep.</summary>
    public const string SafeEvictionPolicy = "noeviction";

    // Garnet has no maxmemory-policy (CONFIG GET and INFO memory say nothing): its records live in a log of --memory
    // bytes, and what leaves memory goes to disk with --storage-tier, or is dropped without it. The check reads which
    // from INFO store (LogDir is set only with --storage-tier: Garnet refuses --logdir without it) and reports it as
    // one of these two pseudo-policies.

    /// <summary>Garnet started with <c>--storage-tier</c>: records that leave memory spill to disk; none is dropped.</summary>
    public const string GarnetStorageTierPolicy = "garnet --storage-tier";

    /// <summary>Garnet without <c>--storage-tier</c>: once its log fills <c>--memory</c>, the oldest records are dropped.</summary>
    public const string GarnetMemoryOnlyPolicy = "garnet memory-only";

    /// <summary>What to configure on a memory-only Garnet, said by the start-up warning, the failure and the health check.</summary>
    public const string GarnetMemoryOnlyAdvice =
        "Garnet keeps records in a log of --memory bytes (default 16g) and, started without --storage-tier, drops the log's oldest " +
        "records once it fills: a retry of such a request would run its operation a second time. Start Garnet with --storage-tier " +
        "(and --logdir), so that records leaving memory spill to disk, or size --memory for every record of the retention window " +
        "and set EvictionPolicyCheck to Ignore.";

    public static bool IsSafeEvictionPolicy(string policy) =>
        string.Equals(policy, SafeEvictionPolicy, StringComparison.OrdinalIgnoreCase) || policy == GarnetStorageTierPolicy;
}
