using Idempotency.Tests.Shared;

namespace Idempotency.Packages.Tests;

public sealed class AotSmokeTests
{
    /// <summary>
    /// scripts/aot-smoke.sh publishes samples/AotSmoke (the middleware and the Redis store) with Native AOT, fails on any
    /// trimming/AOT warning, starts a redis-server of its own and the native binary, and checks with curl that a keyed
    /// POST runs once, its retry is replayed byte for byte with Idempotent-Replayed, and the key reused for another
    /// body gets 422. The script prints its logs when a step fails; the native compilation takes one to three minutes.
    /// </summary>
    [Fact]
    [Trait("Lane", "Full")]
    public async Task NativeAotApp_RunsAKeyedPostOnce_AndReplaysItsRetryByteForByte_OnRedis()
    {
        var output = await RepositoryScript.RunAsync("aot-smoke.sh", TimeSpan.FromMinutes(12));

        Assert.Contains("ran the keyed POST once, replayed its retry byte for byte with Idempotent-Replayed, and refused the reused key with 422", output, StringComparison.Ordinal);
    }
}
