using System.Net;
using System.Text.Json;
using Idempotency.AspNetCore.Deduplication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Idempotency.AspNetCore.OpenApi.Tests;

/// <summary>
/// Controllers whose requirement comes only from a convention on <c>MapControllers()</c>: the middleware reads the
/// endpoint's metadata, which holds the conventions, so the document must say what that metadata says, not only
/// what the controller's and action's attributes say.
/// </summary>
public sealed class OpenApiEdgeCaseTests
{
    [Fact]
    public async Task AMapControllersConvention_IsDocumented_AsTheMiddlewareEnforcesIt_AndAnActionsOwnAttributeStillWins()
    {
        await using var app = await StartAsync(c => c.RequireIdempotency().RequirePrecondition());

        // What the middleware enforces: the convention requires a key; the action's [EnableIdempotency] makes it optional.
        using (var client = app.GetTestClient())
        {
            using var keyless = await client.PostAsync(new Uri("/convention/plain", UriKind.Relative), content: null);
            Assert.Equal(HttpStatusCode.BadRequest, keyless.StatusCode);
        }

        var document = await app.GetDocumentAsync();
        var plain = document.GetProperty("paths").GetProperty("/convention/plain").GetProperty("post");
        Assert.True(IsRequired(HeaderParameter(plain, "Idempotency-Key")));
        Assert.Contains("key-missing", plain.GetProperty("responses").GetProperty("400").GetProperty("description").GetString(), StringComparison.Ordinal);
        HeaderParameter(plain, "If-Match");
        Assert.True(plain.GetProperty("responses").TryGetProperty("428", out _));

        var optional = document.GetProperty("paths").GetProperty("/convention/optional").GetProperty("post");
        Assert.False(IsRequired(HeaderParameter(optional, "Idempotency-Key")));

        var read = document.GetProperty("paths").GetProperty("/convention/plain").GetProperty("get");
        Assert.False(read.TryGetProperty("parameters", out var parameters) && parameters.GetArrayLength() > 0);
    }

    [Fact]
    public async Task ADisablingMapControllersConvention_LeavesAnActionsRequiredAttribute_Required()
    {
        await using var app = await StartAsync(c => c.DisableIdempotency());

        var document = await app.GetDocumentAsync();

        Assert.True(IsRequired(HeaderParameter(document.GetProperty("paths").GetProperty("/convention/required").GetProperty("post"), "Idempotency-Key")));
        var plain = document.GetProperty("paths").GetProperty("/convention/plain").GetProperty("post");
        Assert.False(plain.TryGetProperty("parameters", out var parameters) && parameters.GetArrayLength() > 0);
    }

    private static async Task<WebApplication> StartAsync(Action<ControllerActionEndpointConventionBuilder> convention)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Services.AddProblemDetails();
        builder.Services.AddIdempotency();
        builder.Services.AddControllers().AddApplicationPart(typeof(ConventionController).Assembly);
        builder.Services.AddOpenApi(o => o.DescribeIdempotencyKeys().DescribePreconditions());

        var app = builder.Build();
        app.UseRouting();
        app.UseIdempotency();
        app.MapOpenApi();
        convention(app.MapControllers());
        await app.StartAsync();
        return app;
    }

    private static JsonElement HeaderParameter(JsonElement operation, string name) =>
        Assert.Single(operation.GetProperty("parameters").EnumerateArray(), p => p.GetProperty("in").GetString() == "header" && p.GetProperty("name").GetString() == name);

    // OpenAPI writes "required" only when true.
    private static bool IsRequired(JsonElement parameter) =>
        parameter.TryGetProperty("required", out var required) && required.GetBoolean();
}

/// <summary>A controller with no idempotency attribute of its own but on two actions.</summary>
[ApiController]
[Route("convention")]
public sealed class ConventionController : ControllerBase
{
    [HttpPost("plain")]
    public IActionResult Plain() => Ok();

    [HttpGet("plain")]
    public IActionResult Read() => Ok();

    [HttpPost("optional")]
    [EnableIdempotency]
    public IActionResult Optional() => Ok();

    [HttpPost("required")]
    [RequireIdempotency]
    public IActionResult Required() => Ok();
}
