using System.Net;
using Idempotency.AspNetCore.Deduplication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.ApplicationParts;
using Microsoft.AspNetCore.Mvc.Controllers;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Idempotency.AspNetCore.Tests.Deduplication;

/// <summary>
/// Controllers: MVC adds the conventions of <c>MapControllers()</c> to an endpoint after the attributes of its
/// controller and action, so "the last declaration added" is not the nearest one. An action's or a controller's own
/// attribute must still beat an application-wide convention, as an endpoint's own convention beats its group's.
/// </summary>
public sealed class ControllerDeclarationTests
{
    [Theory]
    [InlineData(Convention.Optional, "/declared/required", HttpStatusCode.BadRequest)] // the action's [RequireIdempotency]
    [InlineData(Convention.Required, "/declared/disabled", HttpStatusCode.OK)] // the action's [DisableIdempotency]
    [InlineData(Convention.Disabled, "/declared/required", HttpStatusCode.BadRequest)]
    [InlineData(Convention.Optional, "/declared/inherited", HttpStatusCode.BadRequest)] // the controller's [RequireIdempotency]
    [InlineData(Convention.None, "/declared/required", HttpStatusCode.BadRequest)]
    [InlineData(Convention.None, "/declared/disabled", HttpStatusCode.OK)]
    public async Task TheActionsOrControllersOwnAttribute_BeatsMapControllersConvention(Convention convention, string path, HttpStatusCode keyless)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Services.AddProblemDetails();
        builder.Services.AddIdempotency();
        builder.Services.AddControllers()
            .AddApplicationPart(typeof(DeclaredController).Assembly)
            .ConfigureApplicationPartManager(parts => parts.FeatureProviders.Add(new OnlyTheDeclaredController()));
        await using var app = builder.Build();
        app.UseIdempotency();
        var controllers = app.MapControllers();
        _ = convention switch
        {
            Convention.Required => controllers.RequireIdempotency(),
            Convention.Optional => controllers.EnableIdempotency(),
            Convention.Disabled => controllers.DisableIdempotency(),
            _ => controllers,
        };
        await app.StartAsync();
        using var client = app.GetTestClient();

        using var response = await client.PostAsync(path, content: null);

        Assert.Equal(keyless, response.StatusCode);
    }

    /// <summary>The application-wide convention on <c>MapControllers()</c>.</summary>
    public enum Convention
    {
        None,
        Required,
        Optional,
        Disabled,
    }

    /// <summary>Keeps the other test controllers of this assembly out of the app.</summary>
    private sealed class OnlyTheDeclaredController : IApplicationFeatureProvider<ControllerFeature>
    {
        public void PopulateFeature(IEnumerable<ApplicationPart> parts, ControllerFeature feature)
        {
            foreach (var controller in feature.Controllers.Where(c => c.AsType() != typeof(DeclaredController)).ToArray())
            {
                feature.Controllers.Remove(controller);
            }
        }
    }
}

/// <summary>A controller whose actions declare their own idempotency requirement, over the controller's.</summary>
[ApiController]
[Route("declared")]
[RequireIdempotency]
public sealed class DeclaredController : ControllerBase
{
    /// <summary>Requires a key by its own attribute.</summary>
    /// <returns>200.</returns>
    [HttpPost("required")]
    [RequireIdempotency]
    public string Required() => "ran";

    /// <summary>Opts out by its own attribute.</summary>
    /// <returns>200.</returns>
    [HttpPost("disabled")]
    [DisableIdempotency]
    public string Disabled() => "ran";

    /// <summary>Inherits the controller's attribute.</summary>
    /// <returns>200.</returns>
    [HttpPost("inherited")]
    public string Inherited() => "ran";
}
