using System.Text.Json;

namespace Idempotency.AspNetCore.Tests;

public sealed class PackageDependencyTests
{
    // This test project references no OpenAPI package of its own, so whatever its dependency graph holds came through
    // Idempotency.AspNetCore. The OpenAPI transformers live in Idempotency.AspNetCore.OpenApi: the middleware's users
    // must not inherit Microsoft.OpenApi or Microsoft.AspNetCore.OpenApi.
    [Theory]
    [InlineData("Microsoft.OpenApi")]
    [InlineData("Microsoft.AspNetCore.OpenApi")]
    public void TheMiddlewarePackage_DoesNotBringOpenApiPackages(string package)
    {
        var depsFile = Path.Combine(AppContext.BaseDirectory, typeof(PackageDependencyTests).Assembly.GetName().Name + ".deps.json");
        using var deps = JsonDocument.Parse(File.ReadAllText(depsFile));

        var libraries = deps.RootElement.GetProperty("libraries").EnumerateObject().Select(library => library.Name.Split('/')[0]).ToList();

        Assert.Contains("Idempotency.AspNetCore", libraries); // the graph read is the one that holds the package
        Assert.DoesNotContain(package, libraries, StringComparer.OrdinalIgnoreCase);
    }

    // The PostgreSQL transactional mode's HTTP binding is a package of its own (Idempotency.PostgreSql.AspNetCore), so
    // that the middleware's users do not inherit Npgsql and the store's users do not inherit ASP.NET Core.
    [Theory]
    [InlineData("Npgsql")]
    [InlineData("Idempotency.PostgreSql")]
    public void TheMiddlewarePackage_DoesNotBringThePostgreSqlStore(string package)
    {
        var depsFile = Path.Combine(AppContext.BaseDirectory, typeof(PackageDependencyTests).Assembly.GetName().Name + ".deps.json");
        using var deps = JsonDocument.Parse(File.ReadAllText(depsFile));

        var libraries = deps.RootElement.GetProperty("libraries").EnumerateObject().Select(library => library.Name.Split('/')[0]).ToList();

        Assert.Contains("Idempotency.AspNetCore", libraries);
        Assert.DoesNotContain(package, libraries, StringComparer.OrdinalIgnoreCase);
    }
}
