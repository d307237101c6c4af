using Idempotency.Tests.Shared;

namespace Idempotency.Packages.Tests;

public sealed class AotSmokeTests
{
    /// <summary>
    /// scripts/aot-smoke.sh publishes samples/AotSmoke (the middleware with the Redis or the PostgreSQL store, chosen at
    /// start-up) once with Native AOT, fails on any trimming/AOT warning, and runs the native binary against a
    /// redis-server of its own and then a throwaway PostgreSQL 15. Each time it checks with curl that a keyed POST runs
    /// once, its retry is replayed byte for byte with Idempotent-Replayed, and the key reused for another body gets 422;
    /// on PostgreSQL also on an endpoint in transactional mode, and every conditional write once. The script prints its
    /// logs when a step fails; the native compilation takes one to three minutes.
    /// </summary>
    [Fact]
    [Trait("Lane", "Full")]
    public async Task NativeAotApp_RunsAKeyedPostOnce_AndReplaysItsRetryByteForByte_OnRedisAndPostgreSql()
    {
        var output = await RepositoryScript.RunAsync("aot-smoke.sh", TimeSpan.FromMinutes(12));

        Assert.Contains("aot smoke: redis: the keyed POST ran once, its retry was replayed byte for byte, the reused key got 422", output, StringComparison.Ordinal);
        Assert.Contains("aot smoke: postgresql: the keyed POST ran once, its retry was replayed byte for byte, the reused key got 422", output, StringComparison.Ordinal);
        Assert.Contains(
            "aot smoke: postgresql/transactional: the keyed POST ran once, its retry was replayed byte for byte, the reused key got 422", output, StringComparison.Ordinal);
        Assert.Contains(
            "aot smoke: postgresql: the conditional writes (create, compare-and-set update, append, read) answered as expected", output, StringComparison.Ordinal);
        Assert.Contains(
            "ran the keyed POST once, replayed its retry byte for byte with Idempotent-Replayed, and refused the reused key with 422, on Redis and on PostgreSQL (plain and transactional)",
            output,
            StringComparison.Ordinal);
    }
}
