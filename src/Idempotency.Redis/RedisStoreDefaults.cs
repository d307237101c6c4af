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
}
