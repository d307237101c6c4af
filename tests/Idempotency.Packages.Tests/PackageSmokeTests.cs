using System.Diagnostics;
using Idempotency.Redis.Tests.Infrastructure;

namespace Idempotency.Packages.Tests;

public sealed class PackageSmokeTests
{
    /// <summary>
    /// What users outside this repository do: scripts/package-smoke.sh packs Idempotency.Core, Idempotency.Redis and
    /// Idempotency.AspNetCore, then builds two throwaway apps in a temporary directory that reference the packages
    /// (not the projects). The console app (Core and Redis, no ASP.NET Core in its graph) runs the executor against
    /// the redis-server this test starts; the web app (AspNetCore, no OpenAPI package in its graph) replays a keyed
    /// POST. The script explains its steps and prints its logs when one fails.
    /// </summary>
    [Fact]
    [Trait("Lane", "Full")]
    public async Task PackedPackages_RunTheExecutorOnRedisWithoutAspNetCore_AndTheMiddlewareWithoutOpenApi_OutsideTheSolution()
    {
        await using var redis = await RedisServer.StartAsync();
        var script = Path.Combine(RepositoryRoot(), "scripts", "package-smoke.sh");
        var start = new ProcessStartInfo("bash")
        {
            ArgumentList = { script, "--redis", redis.EndPoint },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };

        using var process = Process.Start(start) ?? throw new InvalidOperationException("bash did not start.");
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        // A guard against a hung restore, build or app, not a measure: the script takes about two minutes.
        using var hung = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        try
        {
            await process.WaitForExitAsync(hung.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{script} did not finish within 10 minutes.\n{await output}\n{await errors}");
        }

        var report = $"{script} exited with {process.ExitCode}.\n{await output}\n{await errors}";
        Assert.True(process.ExitCode == 0, report);
        Assert.Contains("console smoke: ran once, replayed twice (one from another instance), reuse refused", await output, StringComparison.Ordinal);
        Assert.Contains("web smoke: the keyed POST ran once and was replayed", await output, StringComparison.Ordinal);
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Idempotency.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No Idempotency.sln above {AppContext.BaseDirectory}.");
    }
}
