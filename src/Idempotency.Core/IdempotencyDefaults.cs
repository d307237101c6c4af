namespace Idempotency;

/// <summary>The default of every option, in one place, so documentation and tests agree with the code.</summary>
internal static class IdempotencyDefaults
{
    public const string HeaderName = "Idempotency-Key";
    public const string ReplayedHeaderName = IdempotencyHeaderNames.Replayed;
    public const int MaxKeyLength = 255;
    public static readonly TimeSpan LeaseDuration = TimeSpan.FromMinutes(1);
    public static readonly TimeSpan Retention = TimeSpan.FromHours(24);
    public const int MaxStoredBodySize = 1024 * 1024;
    public static readonly TimeSpan InFlightWaitTimeout = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan InFlightRetryAfter = TimeSpan.FromSeconds(1);
    public const int InMemoryMaxEntries = 100_000;
    public const long InMemoryMaxBytes = 256L * 1024 * 1024;
    public const InMemoryStoreFullBehavior InMemoryWhenFull = InMemoryStoreFullBehavior.EvictOldestCompleted;
    public const double InMemoryMaxScopeShare = 0.1;
    public static readonly TimeSpan InMemoryLeaseGracePeriod = TimeSpan.FromMinutes(1);

    // ClaimTypes.NameIdentifier, where JWT bearer maps "sub"; then "sub" itself for handlers that keep it unmapped.
    public static readonly string[] ScopeClaimTypes = [System.Security.Claims.ClaimTypes.NameIdentifier, "sub"];
    public const int MinAuditHashSecretLength = 16;
}
