namespace Idempotency.PostgreSql.Tests;

public sealed class PackageDependencyTests
{
    // A worker that keeps its records in PostgreSQL (a message handler in transactional mode) must not inherit ASP.NET
    // Core: the HTTP binding of the transactional mode is Idempotency.PostgreSql.AspNetCore. This test project references
    // ASP.NET Core itself, so the store's own assembly references are what is read, not the test's dependency graph.
    [Fact]
    public void TheStorePackage_ReferencesNoAspNetCoreAssembly()
    {
        var references = typeof(PostgreSqlIdempotencyStore).Assembly.GetReferencedAssemblies().Select(reference => reference.Name!).ToList();

        Assert.Contains("Npgsql", references); // the list read is the store's
        Assert.DoesNotContain(references, name => name.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal));
        Assert.DoesNotContain("Idempotency.AspNetCore", references);
    }
}
