using System.Security.Cryptography;
using System.Text;

namespace Idempotency.Redis.Tests.Infrastructure;

internal static class TestPayloads
{
    public static readonly TimeSpan LongLease = TimeSpan.FromMinutes(5);
    public static readonly TimeSpan LongRetention = TimeSpan.FromHours(1);

    public static string NewKey(string scope = "redis-tests") => IdempotencyStorageKey.Create(scope, Guid.NewGuid().ToString());

    public static string NewOwner() => Guid.NewGuid().ToString("N");

    public static byte[] Fingerprint(string label) => SHA256.HashData(Encoding.UTF8.GetBytes(label));

    public static IdempotencyClaimRequest Claim(string key, string owner, TimeSpan? lease = null, string fingerprint = "a") =>
        new(key, Fingerprint(fingerprint), owner, lease ?? LongLease);

    public static IdempotencyCompleteRequest Complete(string key, string owner, byte[] payload, TimeSpan? retention = null, DateTimeOffset? leaseExpiresAt = null) =>
        new(key, owner, payload, retention ?? LongRetention) { LeaseExpiresAt = leaseExpiresAt };
}
