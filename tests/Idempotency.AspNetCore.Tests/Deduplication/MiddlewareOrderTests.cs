using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Idempotency.AspNetCore.Tests.Deduplication;

/// <summary>
/// <c>UseIdempotency()</c> needs the endpoint: before an explicit <c>UseRouting()</c> it would see none and protect
/// nothing, so the host refuses to start; after routing (explicit, or WebApplication's own) it works.
/// </summary>
public sealed class MiddlewareOrderTests
{
    [Fact]
    public async Task UseIdempotency_BeforeAnExplicitUseRouting_FailsTheHostAtStartup()
    {
        // Before routing the middleware sees no endpoint, so no requirement: every keyed request, and its retries, ran
        // unprotected, without a word.
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Services.AddIdempotency();
        await using var app = builder.Build();
        app.UseIdempotency();
        app.UseRouting();
        app.MapPost("/pay", () => "paid").RequireIdempotency();

        var exception = await Assert.ThrowsAsync<InvalidOperationException>(() => app.StartAsync());

        Assert.Equal(
            "'app.UseIdempotency()' must be called after 'app.UseRouting()': before routing it cannot see which endpoints take an Idempotency-Key, " +
            "and every keyed request (its retries too) would run unprotected. Move 'app.UseIdempotency()' after 'app.UseRouting()', or remove the " +
            "explicit 'app.UseRouting()' call (WebApplication then routes first).",
            exception.Message);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task UseIdempotency_AfterRouting_ExplicitOrNot_RequiresTheKey(bool explicitRouting)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Services.AddProblemDetails();
        builder.Services.AddIdempotency();
        await using var app = builder.Build();
        if (explicitRouting)
        {
            app.UseRouting();
        }

        app.UseIdempotency();
        app.MapPost("/pay", () => "paid").RequireIdempotency();
        await app.StartAsync();
        using var client = app.GetTestClient();

        using var response = await client.PostAsync("/pay", content: null);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }
}
