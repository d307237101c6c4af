namespace Idempotency;

/// <summary>The default of every option, in one place, so documentation and tests agree with the code.</summary>
internal static class IdempotencyDefaults
{
    // The protocol's names and limits live in src/Shared, compiled into every package that needs them.
    public const string HeaderName = IdempotencyProtocol.HeaderName;
    public const string ReplayedHeaderName = IdempotencyProtocol.ReplayedHeaderName;
    public const int MaxKeyLength = IdempotencyProtocol.MaxKeyLength;
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
    public const double InMemoryDegradedFillLevel = 0.9;
    public const bool InMemoryWarnOutsideDevelopment = true;
    public const string StoreHealthCheckName = "idempotency-store";

    // ClaimTypes.NameIdentifier, where JWT bearer maps "sub"; then "sub" itself for handlers that keep it unmapped.
    public static readonly string[] ScopeClaimTypes = [System.Security.Claims.ClaimTypes.NameIdentifier, "sub"];
    public const int MinAuditHashSecretLength = 16;
}
