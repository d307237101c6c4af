namespace Idempotency.EntityFrameworkCore.Tests;

public sealed class PackageDependencyTests
{
    // A worker that applies messages in EF Core must not inherit ASP.NET Core; the HTTP binding is a package of its own.
    [Fact]
    public void ThePackage_ReferencesNoAspNetCoreAssembly_AndNoProvider()
    {
        var references = typeof(EntityFrameworkCoreIdempotencyUnitOfWork).Assembly.GetReferencedAssemblies().Select(reference => reference.Name!).ToList();

        Assert.Contains("Microsoft.EntityFrameworkCore.Relational", references); // the list read is the package's
        Assert.DoesNotContain(references, name => name.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal));
        Assert.DoesNotContain("Idempotency.AspNetCore", references);
        Assert.DoesNotContain(references, name => name.StartsWith("Npgsql", StringComparison.Ordinal));
    }
}
