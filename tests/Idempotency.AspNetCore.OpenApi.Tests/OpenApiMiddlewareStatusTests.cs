using System.Net;
using System.Text;
using System.Text.Json;
using Idempotency.AspNetCore.Deduplication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Idempotency.AspNetCore.OpenApi.Tests;

/// <summary>
/// Every problem status the middleware really answers for an operation must be in that operation's document, with the
/// problem+json content and the problem type it carries: a generated client that does not know a status cannot retry it.
/// </summary>
public sealed class OpenApiMiddlewareStatusTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AnUnavailableStore_Answers503_AndTheDocumentDeclaresIt(bool required)
    {
        await using var app = await StartAsync(
            e =>
            {
                var endpoint = e.MapPost("/payments", () => Results.Ok());
                _ = required ? endpoint.RequireIdempotency() : endpoint.EnableIdempotency();
            },
            services: s => s.AddSingleton<IIdempotencyStore>(new UnavailableStore()));

        var (status, type) = await SendKeyedAsync(app);
        var declared = Response(await app.GetDocumentAsync(), "503");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        AssertDeclares(declared, type);
        Assert.True(declared.GetProperty("headers").TryGetProperty("Retry-After", out _));
    }

    [Fact]
    public async Task AnOptionalKeyThatRunsUnprotected_IsDescribedSo_InIts503()
    {
        await using var app = await StartAsync(
            e => e.MapPost("/payments", () => Results.Ok()).EnableIdempotency(),
            o => o.AllowUnprotectedExecutionWhenStoreUnavailable = true,
            s => s.AddSingleton<IIdempotencyStore>(new UnavailableStore()));

        var (status, _) = await SendKeyedAsync(app);
        var declared = Response(await app.GetDocumentAsync(), "503");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("runs unprotected", declared.GetProperty("description").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AReplayOfAResponseTooLargeToStore_Answers410_AndTheDocumentDeclaresIt()
    {
        await using var app = await StartAsync(
            e => e.MapPost("/payments", () => Results.Text("a response longer than the limit")).RequireIdempotency(),
            o => o.MaxStoredBodySize = 4);

        await SendKeyedAsync(app);
        var (status, type) = await SendKeyedAsync(app);
        var declared = Response(await app.GetDocumentAsync(), "410");

        Assert.Equal(HttpStatusCode.Gone, status);
        AssertDeclares(declared, type);
    }

    private static void AssertDeclares(JsonElement declared, string? problemType)
    {
        Assert.NotNull(problemType);
        Assert.True(declared.GetProperty("content").TryGetProperty("application/problem+json", out var problem));
        Assert.Equal("#/components/schemas/ProblemDetails", problem.GetProperty("schema").GetProperty("$ref").GetString());
        Assert.Contains(problemType, declared.GetProperty("description").GetString(), StringComparison.Ordinal);
    }

    private static JsonElement Response(JsonElement document, string status)
    {
        var responses = document.GetProperty("paths").GetProperty("/payments").GetProperty("post").GetProperty("responses");
        Assert.True(responses.TryGetProperty(status, out var declared), $"The document declares {string.Join(", ", responses.EnumerateObject().Select(r => r.Name))}, not {status}.");
        return declared;
    }

    private static async Task<(HttpStatusCode Status, string? ProblemType)> SendKeyedAsync(WebApplication app)
    {
        using var client = app.GetTestClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/payments") { Content = new StringContent("{}", Encoding.UTF8, "application/json") };
        request.Headers.Add("Idempotency-Key", "\"k1\"");
        using var response = await client.SendAsync(request);
        if (response.Content.Headers.ContentType?.MediaType != "application/problem+json")
        {
            return (response.StatusCode, null);
        }

        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (response.StatusCode, problem.RootElement.GetProperty("type").GetString());
    }

    private static async Task<WebApplication> StartAsync(Action<IEndpointRouteBuilder> map, Action<IdempotencyOptions>? configure = null, Action<IServiceCollection>? services = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Services.AddProblemDetails();
        builder.Services.AddIdempotency(configure);
        services?.Invoke(builder.Services);
        builder.Services.AddOpenApi(o => o.DescribeIdempotencyKeys().DescribePreconditions());

        var app = builder.Build();
        app.UseRouting();
        app.UseIdempotency();
        app.MapOpenApi();
        map(app);
        await app.StartAsync();
        return app;
    }

    /// <summary>A store whose server cannot be reached.</summary>
    private sealed class UnavailableStore : IIdempotencyStore
    {
        public string Name => "unavailable";

        public ValueTask<IdempotencyClaimResult> ClaimAsync(IdempotencyClaimRequest request, CancellationToken cancellationToken) =>
            throw new IdempotencyStoreException("The store's server cannot be reached.");

        public ValueTask<CompletionStatus> CompleteAsync(IdempotencyCompleteRequest request, CancellationToken cancellationToken) =>
            throw new IdempotencyStoreException("The store's server cannot be reached.");

        public ValueTask<bool> ReleaseAsync(string key, string ownerToken, CancellationToken cancellationToken) =>
            throw new IdempotencyStoreException("The store's server cannot be reached.");
    }
}
