using Idempotency.Tests.Shared;

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
        var output = await RepositoryScript.RunAsync("conformance-package-smoke.sh", TimeSpan.FromMinutes(10));

        Assert.Contains("tests of the packed suites passed", output, StringComparison.Ordinal);
    }
}
