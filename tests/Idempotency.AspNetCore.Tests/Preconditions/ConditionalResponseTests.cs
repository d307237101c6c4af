using System.Net;
using System.Text.Json;
using Idempotency.AspNetCore.Deduplication;
using Idempotency.AspNetCore.Preconditions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;

namespace Idempotency.AspNetCore.Tests.Preconditions;

public sealed class ConditionalResponseTests
{
    [Fact]
    public async Task ToHttpResult_Answers201WithETagLocationAndBody_WhenAppliedWithALocation()
    {
        await using var app = await StartAsync();

        using var response = await app.GetTestClient().PostAsync("/write/applied-created", null);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("\"564\"", response.Headers.ETag?.ToString());
        Assert.Equal("/accounts/7/entries/564", response.Headers.Location?.OriginalString);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(564, body.RootElement.GetProperty("entry").GetInt64());
    }

    [Fact]
    public async Task ToHttpResult_Answers200WithETag_WhenAppliedWithoutALocation()
    {
        await using var app = await StartAsync();

        using var response = await app.GetTestClient().PostAsync("/write/applied", null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("\"8\"", response.Headers.ETag?.ToString());
        Assert.Null(response.Headers.Location);
        Assert.Equal(0, response.Content.Headers.ContentLength);
    }

    [Fact]
    public async Task ToHttpResult_Answers412ProblemWithTheCurrentETag_WhenTheVersionConflicts()
    {
        await using var app = await StartAsync();

        using var response = await app.GetTestClient().PostAsync("/write/conflict", null);

        Assert.Equal(HttpStatusCode.PreconditionFailed, response.StatusCode);
        Assert.Equal("\"564\"", response.Headers.ETag?.ToString());
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(IdempotencyProblemTypes.DefaultBaseUri + PreconditionProblemTypes.PreconditionFailed, problem.RootElement.GetProperty("type").GetString());
        Assert.Contains("\"564\"", problem.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ToHttpResult_Answers404Problem_WhenTheTargetDoesNotExist()
    {
        await using var app = await StartAsync();

        using var response = await app.GetTestClient().PostAsync("/write/not-found", null);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Null(response.Headers.ETag);
    }

    [Fact]
    public void ToHttpResult_Throws_WhenTheResultHoldsNoOutcome()
    {
        Assert.Throws<ArgumentException>(() => default(ConditionalWriteResult).ToHttpResult());
    }

    [Fact]
    public async Task EvaluatedGet_Answers304WithETagAndNoBody_WhenIfNoneMatchMatches()
    {
        await using var app = await StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/resource");
        request.Headers.TryAddWithoutValidation("If-None-Match", "W/\"1\", \"42\"");

        using var response = await app.GetTestClient().SendAsync(request);

        Assert.Equal(HttpStatusCode.NotModified, response.StatusCode);
        Assert.Equal("\"42\"", response.Headers.ETag?.ToString());
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task EvaluatedGet_Answers200WithETag_WhenIfNoneMatchNamesAnOlderVersion()
    {
        await using var app = await StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/resource");
        request.Headers.TryAddWithoutValidation("If-None-Match", "\"41\"");

        using var response = await app.GetTestClient().SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("\"42\"", response.Headers.ETag?.ToString());
        Assert.Equal("\"resource\"", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task EvaluatedGet_Answers304WithLastModified_WhenOnlyDatesAreKnown()
    {
        await using var app = await StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/dated");
        request.Headers.TryAddWithoutValidation("If-Modified-Since", "Sun, 01 Mar 2026 10:00:00 GMT");

        using var response = await app.GetTestClient().SendAsync(request);

        Assert.Equal(HttpStatusCode.NotModified, response.StatusCode);
        Assert.Null(response.Headers.ETag);
        Assert.Equal(new DateTimeOffset(2026, 3, 1, 10, 0, 0, TimeSpan.Zero), response.Content.Headers.LastModified);
    }

    [Fact]
    public async Task EvaluatedPut_Answers412WithTheCurrentETag_WhenIfMatchNamesAnotherVersion()
    {
        await using var app = await StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Put, "/resource");
        request.Headers.TryAddWithoutValidation("If-Match", "\"41\"");

        using var response = await app.GetTestClient().SendAsync(request);

        Assert.Equal(HttpStatusCode.PreconditionFailed, response.StatusCode);
        Assert.Equal("\"42\"", response.Headers.ETag?.ToString());
    }

    [Fact]
    public async Task EvaluatedPut_Answers400Problem_WhenIfMatchIsUnquoted()
    {
        await using var app = await StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Put, "/resource");
        request.Headers.TryAddWithoutValidation("If-Match", "42");

        using var response = await app.GetTestClient().SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(IdempotencyProblemTypes.DefaultBaseUri + PreconditionProblemTypes.PreconditionMalformed, problem.RootElement.GetProperty("type").GetString());
    }

    [Theory]
    [InlineData("\"563\"", true, 563L)]
    [InlineData("\"0\"", true, 0L)]
    [InlineData("W/\"563\"", false, 0L)]
    [InlineData("*", false, 0L)]
    [InlineData("\"562\", \"563\"", false, 0L)]
    [InlineData("\"abc\"", false, 0L)]
    [InlineData("563", false, 0L)]
    [InlineData(null, false, 0L)]
    public void TryGetIfMatchVersion_AcceptsOnlyOneStrongVersionTag(string? ifMatch, bool expected, long expectedVersion)
    {
        var context = new DefaultHttpContext();
        if (ifMatch is not null)
        {
            context.Request.Headers.IfMatch = ifMatch;
        }

        Assert.Equal(expected, context.Request.TryGetIfMatchVersion(out var version));
        Assert.Equal(expectedVersion, version);
    }

    private static Task<WebApplication> StartAsync() => PreconditionTestHost.StartAsync(app =>
    {
        app.MapPost("/write/applied-created", () => ConditionalWriteResult.Applied(564).ToHttpResult("/accounts/7/entries/564", new { entry = 564 }));
        app.MapPost("/write/applied", () => ConditionalWriteResult.Applied(8).ToHttpResult());
        app.MapPost("/write/conflict", () => ConditionalWriteResult.VersionConflict(564).ToHttpResult("/ignored", new { entry = 0 }));
        app.MapPost("/write/not-found", () => ConditionalWriteResult.NotFound().ToHttpResult());

        var current = EntityTag.FromVersion(42);
        app.MapMethods("/resource", ["GET", "PUT"], (HttpRequest request, HttpResponse response) =>
        {
            if (request.EvaluatePreconditions(current) is { CanProceed: false } failed)
            {
                return failed.ToHttpResult();
            }

            response.Headers.ETag = current.ToString();
            return Results.Json("resource");
        });
        app.MapGet("/dated", (HttpRequest request) =>
        {
            var modified = new DateTimeOffset(2026, 3, 1, 10, 0, 0, TimeSpan.Zero);
            var result = request.EvaluatePreconditions(null, modified);
            return result.CanProceed ? Results.Ok() : result.ToHttpResult();
        });
    });
}
