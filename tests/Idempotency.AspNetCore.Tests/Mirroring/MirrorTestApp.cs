using System.Net.Http.Headers;
using Idempotency.AspNetCore.Mirroring;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Idempotency.AspNetCore.Tests.Mirroring;

/// <summary>
/// A service on TestServer with the mirror guard before the idempotency middleware, and endpoints of every class
/// that count their effects: what a primary or a canary of a real service looks like.
/// </summary>
internal sealed class MirrorTestApp : IAsyncDisposable
{
    public const string Marker = "X-Shadow-Request";

    private readonly WebApplication _app;

    private MirrorTestApp(WebApplication app, Effects effects)
    {
        _app = app;
        Effects = effects;
        Client = app.GetTestClient();
    }

    public HttpClient Client { get; }

    public Effects Effects { get; }

    public IServiceProvider Services => _app.Services;

    public static async Task<MirrorTestApp> StartAsync(
        Action<MirroringOptions> configure,
        Action<IServiceCollection>? services = null,
        Action<IEndpointRouteBuilder>? map = null,
        Effects? effects = null)
    {
        effects ??= new Effects();
        var app = CreateBuilder(configure, services).Build();
        app.UseRouting();
        app.UseMirrorGuard();
        app.UseIdempotency();
        MapClasses(app, effects, "test");
        map?.Invoke(app);
        await app.StartAsync();
        return new MirrorTestApp(app, effects);
    }

    /// <summary>A test-server application with idempotency and mirroring configured, not yet built.</summary>
    public static WebApplicationBuilder CreateBuilder(Action<MirroringOptions> configure, Action<IServiceCollection>? services = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Services.AddProblemDetails();
        builder.Services.AddIdempotency();
        builder.Services.AddMirroring(configure);
        services?.Invoke(builder.Services);
        return builder;
    }

    /// <summary>One endpoint per class; each write counts its effect and answers who ran it.</summary>
    public static void MapClasses(IEndpointRouteBuilder endpoints, Effects effects, string instance)
    {
        endpoints.MapGet("/items/{id:int}", (int id, HttpContext context) =>
        {
            effects.Add("read");
            return Results.Json(new { id, instance, marker = context.Request.Headers.ContainsKey(Marker), copy = context.Features.Get<IMirroredRequestFeature>() is not null });
        });
        endpoints.MapPost("/payments", (HttpContext context) =>
        {
            effects.Add("payment");
            return Results.Json(new { instance, marker = context.Request.Headers.ContainsKey(Marker), copy = context.Features.Get<IMirroredRequestFeature>() is not null }, statusCode: StatusCodes.Status201Created);
        }).RequireIdempotency();
        endpoints.MapPut("/items/{id:int}", (int id) =>
        {
            effects.Add("upsert");
            return Results.Json(new { id, instance });
        });
        endpoints.MapPost("/entries", () =>
        {
            effects.Add("entry");
            return Results.Json(new { instance }, statusCode: StatusCodes.Status201Created);
        }).RequirePrecondition();
        endpoints.MapPost("/emails", () =>
        {
            effects.Add("email");
            return Results.Json(new { instance }, statusCode: StatusCodes.Status202Accepted);
        });
        endpoints.MapPost("/search", () =>
        {
            effects.Add("search");
            return Results.Json(new { instance });
        }).MirrorSafe();
    }

    public static HttpRequestMessage Request(HttpMethod method, string path, string? key = null, string? marker = null, string body = "{}")
    {
        var request = new HttpRequestMessage(method, path);
        if (method != HttpMethod.Get)
        {
            request.Content = new StringContent(body, MediaTypeHeaderValue.Parse("application/json"));
        }

        if (key is not null)
        {
            request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
        }

        if (marker is not null)
        {
            request.Headers.TryAddWithoutValidation(Marker, marker);
        }

        return request;
    }

    public Task<HttpResponseMessage> SendAsync(HttpRequestMessage request) => Client.SendAsync(request);

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.DisposeAsync();
    }
}

/// <summary>The effects applied to one data set (shared by two instances in "shared data" tests).</summary>
internal sealed class Effects
{
    private readonly Lock _lock = new();
    private readonly List<string> _applied = [];

    public void Add(string effect)
    {
        lock (_lock)
        {
            _applied.Add(effect);
        }
    }

    public int Count(string effect)
    {
        lock (_lock)
        {
            return _applied.Count(e => e == effect);
        }
    }

    public int Total
    {
        get
        {
            lock (_lock)
            {
                return _applied.Count;
            }
        }
    }
}
