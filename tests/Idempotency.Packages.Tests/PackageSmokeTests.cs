using Idempotency.Redis.Tests.Infrastructure;
using Idempotency.Tests.Shared;

namespace Idempotency.Packages.Tests;

public sealed class PackageSmokeTests
{
    /// <summary>
    /// What users outside this repository do: scripts/package-smoke.sh packs Idempotency.Core, Idempotency.Redis and
    /// Idempotency.AspNetCore, then builds two throwaway apps in a temporary directory that reference the packages
    /// (not the projects). The console app (Core and Redis, no ASP.NET Core in its graph) runs the executor against
    /// the redis-server this test starts; the web app (AspNetCore, no OpenAPI package in its graph) replays a keyed
    /// POST. The script explains its steps and prints its logs when one fails; it takes about two minutes.
    /// </summary>
    [Fact]
    [Trait("Lane", "Full")]
    public async Task PackedPackages_RunTheExecutorOnRedisWithoutAspNetCore_AndTheMiddlewareWithoutOpenApi_OutsideTheSolution()
    {
        await using var redis = await RedisServer.StartAsync();

        var output = await RepositoryScript.RunAsync("package-smoke.sh", TimeSpan.FromMinutes(10), "--redis", redis.EndPoint);

        Assert.Contains("console smoke: ran once, replayed twice (one from another instance), reuse refused", output, StringComparison.Ordinal);
        Assert.Contains("web smoke: the keyed POST ran once and was replayed", output, StringComparison.Ordinal);
    }
}
