using System.Diagnostics;

namespace Idempotency.Tests.Shared;

/// <summary>
/// Runs one of the repository's scripts (scripts/*.sh) as a test's subject: the smoke tests that pack the packages
/// and use them from outside the solution. The one place that finds the repository and guards against a hung script.
/// </summary>
internal static class RepositoryScript
{
    /// <summary>Gets the repository's root: the first directory above the test's binaries that holds Idempotency.sln.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>
    /// Runs <c>bash scripts/<paramref name="name"/></c> with <paramref name="arguments"/> and returns what it printed.
    /// Fails the test, with everything the script printed, when it does not exit with 0 or does not finish within
    /// <paramref name="hangGuard"/> (a guard against a hung restore, build or app, not a measure).
    /// </summary>
    public static async Task<string> RunAsync(string name, TimeSpan hangGuard, params string[] arguments)
    {
        var script = Path.Combine(Root, "scripts", name);
        var start = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(script);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("bash did not start.");
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var hung = new CancellationTokenSource(hangGuard);
        try
        {
            await process.WaitForExitAsync(hung.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{script} did not finish within {hangGuard}.\n{await output}\n{await errors}");
        }

        Assert.True(process.ExitCode == 0, $"{script} exited with {process.ExitCode}.\n{await output}\n{await errors}");
        return await output;
    }

    private static string FindRoot()
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
