namespace Idempotency.Redis;

/// <summary>The stable event ids of everything the Redis store logs (the 3100 range belongs to Idempotency.Redis; 3150-3159 to replica acknowledgement, 3160-3169 to Garnet, 3170-3179 to the conditional-write stores).</summary>
internal static class RedisLogEvents
{
    public const int EvictionPolicyUnsafe = 3101;
    public const int EvictionPolicyNotChecked = 3102;
    public const int EvictionPolicySafe = 3103;
    public const int StartupChecksIncomplete = 3104;
    public const int ScriptsLoaded = 3105;
    public const int OperationFailed = 3110;
    public const int ScriptReloaded = 3111;
    public const int OperationFailedDetail = 3112;
    public const int CallSentAgain = 3113;
    public const int ReplicaAcknowledgementMissing = 3150;
    public const int ReplicaAcknowledgementFailed = 3151;
    public const int TooFewReplicas = 3152;
    public const int GarnetMemoryOnly = 3160;
    public const int GarnetStorageTier = 3161;
    public const int ConditionalWritesEvictionPolicyUnsafe = 3170;
    public const int ConditionalWritesEvictionPolicyNotChecked = 3171;
    public const int ConditionalWritesEvictionPolicySafe = 3172;
    public const int ConditionalWritesStartupChecksIncomplete = 3173;
    public const int ConditionalWritesGarnetMemoryOnly = 3174;
    public const int ConditionalWriteSentAgain = 3175;
}
