using System.Diagnostics;

namespace Idempotency.Packages.Tests;

public sealed class AotSmokeTests
{
    /// <summary>
    /// scripts/aot-smoke.sh publishes samples/AotSmoke (the middleware and the Redis store) with Native AOT, fails on any
    /// trimming/AOT warning, starts a redis-server of its own and the native binary, and checks with curl that a keyed
    /// POST runs once, its retry is replayed byte for byte with Idempotent-Replayed, and the key reused for another
    /// body gets 422. The script prints its logs when a step fails.
    /// </summary>
    [Fact]
    [Trait("Lane", "Full")]
    public async Task NativeAotApp_RunsAKeyedPostOnce_AndReplaysItsRetryByteForByte_OnRedis()
    {
        var script = Path.Combine(RepositoryRoot(), "scripts", "aot-smoke.sh");
        var start = new ProcessStartInfo("bash")
        {
            ArgumentList = { script },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };

        using var process = Process.Start(start) ?? throw new InvalidOperationException("bash did not start.");
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        // A guard against a hung publish or app, not a measure: the native compilation takes one to three minutes.
        using var hung = new CancellationTokenSource(TimeSpan.FromMinutes(12));
        try
        {
            await process.WaitForExitAsync(hung.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{script} did not finish within 12 minutes.\n{await output}\n{await errors}");
        }

        Assert.True(process.ExitCode == 0, $"{script} exited with {process.ExitCode}.\n{await output}\n{await errors}");
        Assert.Contains("ran the keyed POST once, replayed its retry byte for byte with Idempotent-Replayed, and refused the reused key with 422", await output, StringComparison.Ordinal);
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
