using System.Diagnostics;

namespace Idempotency.Stores.Conformance.Tests;

public sealed class PackageTests
{
    /// <summary>
    /// What a store author outside this repository does: packs Idempotency.Core and Idempotency.Stores.Conformance,
    /// references the packages (not the projects) from a throwaway xunit project in a temporary directory, inherits
    /// the three suites with small stores of its own and runs <c>dotnet test</c>. The script explains its steps.
    /// </summary>
    [Fact]
    public async Task PackedSuites_RunAndPass_InATestProjectOutsideTheSolution_ThatReferencesOnlyThePackages()
    {
        var script = Path.Combine(RepositoryRoot(), "scripts", "conformance-package-smoke.sh");
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
        // A guard against a hung restore or build, not a measure: the script takes well under two minutes.
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
        Assert.Contains("tests of the packed suites passed", await output, StringComparison.Ordinal);
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
