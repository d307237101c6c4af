using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Idempotency.AspNetCore.Tests.Preconditions;

/// <summary>A minimal app on <see cref="TestServer"/> with <c>UsePreconditions()</c> in its pipeline.</summary>
internal static class PreconditionTestHost
{
    public static async Task<WebApplication> StartAsync(Action<WebApplication> map, Action<IServiceCollection>? configureServices = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Services.AddProblemDetails();
        configureServices?.Invoke(builder.Services);

        var app = builder.Build();
        app.UsePreconditions();
        map(app);
        await app.StartAsync();
        return app;
    }
}
