using System.Text.Json;
using Idempotency.AspNetCore.Deduplication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Idempotency.AspNetCore.OpenApi.Tests;

public sealed class OpenApiTransformerTests
{
    [Fact]
    public async Task ARequiredKey_IsDeclaredAsARequiredHeader_WithTheMiddlewaresProblemResponses()
    {
        var document = await GetDocumentAsync(e => e.MapPost("/payments", () => Results.Created("/payments/1", new { id = 1 })).RequireIdempotency());

        var operation = document.GetProperty("paths").GetProperty("/payments").GetProperty("post");
        var key = HeaderParameter(operation, "Idempotency-Key");
        Assert.True(IsRequired(key));
        Assert.Equal("string", key.GetProperty("schema").GetProperty("type").GetString());
        Assert.Equal(255, key.GetProperty("schema").GetProperty("maxLength").GetInt32());
        Assert.Contains("same key on every retry", key.GetProperty("description").GetString(), StringComparison.Ordinal);

        var responses = operation.GetProperty("responses");
        foreach (var status in new[] { "400", "409", "422", "429", "500" })
        {
            Assert.True(responses.GetProperty(status).GetProperty("content").TryGetProperty("application/problem+json", out var problem), status);
            Assert.Equal("#/components/schemas/ProblemDetails", problem.GetProperty("schema").GetProperty("$ref").GetString());
        }

        Assert.Contains("https://github.com/idempotency-dotnet/idempotency/blob/main/docs/errors.md#key-missing", responses.GetProperty("400").GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.Contains("request-in-flight", responses.GetProperty("409").GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.True(responses.GetProperty("409").GetProperty("headers").TryGetProperty("Retry-After", out _));
        Assert.Contains("key-reused", responses.GetProperty("422").GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.Contains("scope-quota-exceeded", responses.GetProperty("429").GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.True(responses.GetProperty("429").GetProperty("headers").TryGetProperty("Retry-After", out _));
        Assert.Contains("outcome-unknown", responses.GetProperty("500").GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.True(document.GetProperty("components").GetProperty("schemas").TryGetProperty("ProblemDetails", out _));
    }

    [Fact]
    public async Task AnOptionalKey_IsDeclaredAsAnOptionalHeader_AndItsBadRequestDoesNotMentionAMissingKey()
    {
        var document = await GetDocumentAsync(e => e.MapPost("/payments", () => Results.Ok()).EnableIdempotency());

        var operation = document.GetProperty("paths").GetProperty("/payments").GetProperty("post");
        Assert.False(IsRequired(HeaderParameter(operation, "Idempotency-Key")));
        Assert.DoesNotContain("key-missing", operation.GetProperty("responses").GetProperty("400").GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.True(operation.GetProperty("responses").TryGetProperty("422", out _));
    }

    [Fact]
    public async Task SuccessResponses_DeclareTheReplayedHeader()
    {
        var document = await GetDocumentAsync(e => e.MapPost("/payments", () => Results.Created("/payments/1", new { id = 1 }))
            .Produces<PaymentView>(StatusCodes.Status201Created)
            .RequireIdempotency());

        var created = document.GetProperty("paths").GetProperty("/payments").GetProperty("post").GetProperty("responses").GetProperty("201");

        Assert.True(created.GetProperty("headers").TryGetProperty("Idempotent-Replayed", out _));
    }

    [Fact]
    public async Task TheDeclaredReplayedHeader_IsTheOneTheMiddlewareSendsOnAReplay()
    {
        // The package names the header from its own copy of the shared constant: this keeps the copy honest.
        await using var app = await StartAsync(e => e.MapPost("/payments", () => Results.Created("/payments/1", new { id = 1 }))
            .Produces<PaymentView>(StatusCodes.Status201Created)
            .RequireIdempotency());
        var declared = (await app.GetDocumentAsync()).GetProperty("paths").GetProperty("/payments").GetProperty("post")
            .GetProperty("responses").GetProperty("201").GetProperty("headers").EnumerateObject().Select(h => h.Name).ToList();

        using var client = app.GetTestClient();
        using var first = await client.SendAsync(KeyedPost());
        using var replay = await client.SendAsync(KeyedPost());

        Assert.Equal(System.Net.HttpStatusCode.Created, replay.StatusCode);
        var sent = Assert.Single(replay.Headers, h => h.Value.SequenceEqual(["true"])).Key;
        Assert.Contains(sent, declared);

        static HttpRequestMessage KeyedPost()
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/payments") { Content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json") };
            request.Headers.TryAddWithoutValidation("Idempotency-Key", "\"8e03978e-40d5-43e8-bc93-6894a57f9324\"");
            return request;
        }
    }

    [Fact]
    public async Task ReadsDisabledEndpointsAndEndpointsWithoutMetadata_GetNoKey()
    {
        var document = await GetDocumentAsync(e =>
        {
            var group = e.MapGroup("/accounts").RequireIdempotency();
            group.MapGet("/{id}", (int id) => Results.Ok(id));
            group.MapPost("/{id}/notes", (int id) => Results.Ok(id)).DisableIdempotency();
            e.MapPost("/plain", () => Results.Ok());
        });

        var paths = document.GetProperty("paths");
        Assert.False(HasHeaderParameter(paths.GetProperty("/accounts/{id}").GetProperty("get"), "Idempotency-Key"));
        Assert.False(HasHeaderParameter(paths.GetProperty("/accounts/{id}/notes").GetProperty("post"), "Idempotency-Key"));
        Assert.False(HasHeaderParameter(paths.GetProperty("/plain").GetProperty("post"), "Idempotency-Key"));
        Assert.False(paths.GetProperty("/plain").GetProperty("post").GetProperty("responses").TryGetProperty("422", out _));
    }

    [Fact]
    public async Task TheConfiguredHeaderName_IsTheOneDeclared()
    {
        var document = await GetDocumentAsync(
            e => e.MapPost("/payments", () => Results.Ok()).RequireIdempotency(),
            o => { o.HeaderName = "X-Request-Key"; o.MaxKeyLength = 64; });

        var operation = document.GetProperty("paths").GetProperty("/payments").GetProperty("post");

        Assert.False(HasHeaderParameter(operation, "Idempotency-Key"));
        Assert.Equal(64, HeaderParameter(operation, "X-Request-Key").GetProperty("schema").GetProperty("maxLength").GetInt32());
    }

    [Fact]
    public async Task AnApplicationsOwnConflictResponse_IsKept_AndGainsTheInFlightMeaning()
    {
        var document = await GetDocumentAsync(e => e.MapPost("/withdrawals", () => Results.Ok())
            .Produces<InsufficientFundsView>(StatusCodes.Status409Conflict, "application/json")
            .RequireIdempotency());

        var conflict = document.GetProperty("paths").GetProperty("/withdrawals").GetProperty("post").GetProperty("responses").GetProperty("409");
        var description = conflict.GetProperty("description").GetString();

        Assert.StartsWith("Conflict ", description, StringComparison.Ordinal); // the application's own description comes first
        Assert.Contains("request-in-flight", description, StringComparison.Ordinal);
        Assert.True(conflict.GetProperty("content").TryGetProperty("application/json", out _));
        Assert.True(conflict.GetProperty("content").TryGetProperty("application/problem+json", out _));
        Assert.True(conflict.GetProperty("headers").TryGetProperty("Retry-After", out _));
    }

    [Fact]
    public async Task AConditionalEndpoint_DeclaresIfMatch_AndThePreconditionResponses()
    {
        var document = await GetDocumentAsync(e =>
        {
            e.MapPost("/accounts/{id}/entries", (int id) => Results.Ok(id)).RequirePrecondition().EnableIdempotency();
            e.MapGet("/accounts/{id}", (int id) => Results.Ok(id)).RequirePrecondition();
        });

        var paths = document.GetProperty("paths");
        var append = paths.GetProperty("/accounts/{id}/entries").GetProperty("post");
        var ifMatch = HeaderParameter(append, "If-Match");
        Assert.False(IsRequired(ifMatch)); // If-None-Match satisfies the requirement too
        Assert.Contains("428", ifMatch.GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.True(HasHeaderParameter(append, "If-None-Match"));
        Assert.True(HasHeaderParameter(append, "Idempotency-Key"));
        var responses = append.GetProperty("responses");
        Assert.Contains("precondition-failed", responses.GetProperty("412").GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.True(responses.GetProperty("412").GetProperty("headers").TryGetProperty("ETag", out _));
        Assert.Contains("precondition-required", responses.GetProperty("428").GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.True(responses.GetProperty("428").GetProperty("content").TryGetProperty("application/problem+json", out _));

        // One 400 carries both meanings: a bad key and a bad entity tag list.
        var badRequest = responses.GetProperty("400").GetProperty("description").GetString();
        Assert.Contains("key-malformed", badRequest, StringComparison.Ordinal);
        Assert.Contains("precondition-malformed", badRequest, StringComparison.Ordinal);

        var read = paths.GetProperty("/accounts/{id}").GetProperty("get");
        Assert.False(HasHeaderParameter(read, "If-Match"));
        Assert.False(read.GetProperty("responses").TryGetProperty("428", out _));
    }

    [Fact]
    public async Task TheEndpointsPolicy_IsWhatTheDocumentDescribes_AndAnEndpointWithoutOneTheGlobalOptions()
    {
        var document = await GetDocumentAsync(
            e =>
            {
                e.MapPost("/payments", () => Results.Ok()).RequireIdempotency("payments");
                e.MapPost("/exports", () => Results.Ok()).RequireIdempotency();
            },
            o =>
            {
                o.ResponseRetention = TimeSpan.FromHours(24);
                o.AddPolicy("payments", p =>
                {
                    p.ResponseRetention = TimeSpan.FromHours(2);
                    p.InFlightDuplicates = InFlightDuplicateHandling.Wait;
                    p.InFlightWaitTimeout = TimeSpan.FromSeconds(30);
                    p.FingerprintExcludedJsonMembers.Add("sentAt");
                    p.FingerprintExcludedJsonMembers.Add("meta.attempt");
                });
            });

        var payments = document.GetProperty("paths").GetProperty("/payments").GetProperty("post");
        var exports = document.GetProperty("paths").GetProperty("/exports").GetProperty("post");
        Assert.Contains("for 2 hours after it completed", HeaderParameter(payments, "Idempotency-Key").GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.Contains("after this request waited 30 seconds for it", Description(payments, "409"), StringComparison.Ordinal);
        Assert.Contains("The JSON body's members 'meta.attempt', 'sentAt' are not compared", Description(payments, "422"), StringComparison.Ordinal);
        Assert.Contains("for 24 hours after it completed", HeaderParameter(exports, "Idempotency-Key").GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("waited", Description(exports, "409"), StringComparison.Ordinal);
        Assert.DoesNotContain("not compared", Description(exports, "422"), StringComparison.Ordinal);
    }

    [Fact]
    public void TheExtensions_RefuseNullOptions()
    {
        Assert.Throws<ArgumentNullException>(() => IdempotencyOpenApiOptionsExtensions.DescribeIdempotencyKeys(null!));
        Assert.Throws<ArgumentNullException>(() => IdempotencyOpenApiOptionsExtensions.DescribePreconditions(null!));
    }

    private static async Task<JsonElement> GetDocumentAsync(Action<IEndpointRouteBuilder> map, Action<IdempotencyOptions>? configure = null)
    {
        await using var app = await StartAsync(map, configure);
        return await app.GetDocumentAsync();
    }

    private static async Task<WebApplication> StartAsync(Action<IEndpointRouteBuilder> map, Action<IdempotencyOptions>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Services.AddProblemDetails();
        builder.Services.AddIdempotency(configure);
        builder.Services.AddOpenApi(o => o.DescribeIdempotencyKeys().DescribePreconditions());

        var app = builder.Build();
        app.UseRouting();
        app.UseIdempotency();
        app.MapOpenApi();
        map(app);
        await app.StartAsync();
        return app;
    }

    private static bool HasHeaderParameter(JsonElement operation, string name) =>
        operation.TryGetProperty("parameters", out var parameters)
        && parameters.EnumerateArray().Any(p => p.GetProperty("in").GetString() == "header" && p.GetProperty("name").GetString() == name);

    private static JsonElement HeaderParameter(JsonElement operation, string name) =>
        Assert.Single(operation.GetProperty("parameters").EnumerateArray(), p => p.GetProperty("in").GetString() == "header" && p.GetProperty("name").GetString() == name);

    private static string? Description(JsonElement operation, string status) =>
        operation.GetProperty("responses").GetProperty(status).GetProperty("description").GetString();

    // OpenAPI writes "required" only when true.
    private static bool IsRequired(JsonElement parameter) =>
        parameter.TryGetProperty("required", out var required) && required.GetBoolean();

    private sealed record PaymentView(int Id);

    private sealed record InsufficientFundsView(long Balance);
}
