using System.Text.Json;
using System.Xml.Linq;

namespace Idempotency.Core.Tests;

/// <summary>
/// A worker that uses only the engine (the executor with the Redis store, say) must not inherit the HttpClient
/// integration or ASP.NET Core: those live in Idempotency.Http and Idempotency.AspNetCore.
/// </summary>
public sealed class PackageDependencyTests
{
    private static readonly string[] s_forbidden = ["Microsoft.Extensions.Http", "Microsoft.AspNetCore."];

    [Fact]
    public void CoreProject_DeclaresNoHttpClientOrAspNetCorePackage()
    {
        var project = XDocument.Load(Path.Combine(CoreProjectDirectory(), "Idempotency.Core.csproj"));
        var references = project.Descendants()
            .Where(e => e.Name.LocalName is "PackageReference" or "FrameworkReference")
            .Select(e => (string?)e.Attribute("Include") ?? "")
            .ToList();

        Assert.Contains("Microsoft.Extensions.Options", references);
        Assert.DoesNotContain(references, IsForbidden);
    }

    [Fact]
    public void CoreDependencyClosure_HasNoHttpClientOrAspNetCorePackage()
    {
        // project.assets.json lists every package restore resolved for the project, transitive ones included: what a
        // user of the Core package gets, not only what its project file names.
        using var assets = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(CoreProjectDirectory(), "obj", "project.assets.json")));
        var packages = assets.RootElement.GetProperty("libraries").EnumerateObject()
            .Select(library => library.Name.Split('/')[0])
            .ToList();

        Assert.Contains("Microsoft.Extensions.Options", packages);
        Assert.DoesNotContain(packages, IsForbidden);
    }

    private static bool IsForbidden(string package) =>
        s_forbidden.Any(f => f.EndsWith('.')
            ? package.StartsWith(f, StringComparison.OrdinalIgnoreCase)
            : string.Equals(package, f, StringComparison.OrdinalIgnoreCase));

    private static string CoreProjectDirectory()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Idempotency.sln")))
            {
                return Path.Combine(directory.FullName, "src", "Idempotency.Core");
            }
        }

        throw new InvalidOperationException($"No Idempotency.sln above {AppContext.BaseDirectory}.");
    }
}
