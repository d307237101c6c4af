using System.Net;
using System.Text.Json;
using Idempotency.AspNetCore.Deduplication;
using Idempotency.AspNetCore.Preconditions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace Idempotency.AspNetCore.Tests.Preconditions;

public sealed class PreconditionMiddlewareTests
{
    private const string DefaultType = IdempotencyProblemTypes.DefaultBaseUri + PreconditionProblemTypes.PreconditionRequired;

    private int _handled;

    [Theory]
    [InlineData("POST")]
    [InlineData("PUT")]
    [InlineData("PATCH")]
    [InlineData("DELETE")]
    public async Task UnsafeRequest_Gets428ProblemSayingHowToResubmit_WhenItCarriesNoCondition(string method)
    {
        await using var app = await StartAsync();

        using var response = await app.GetTestClient().SendAsync(new HttpRequestMessage(new HttpMethod(method), "/convention"));

        Assert.Equal(HttpStatusCode.PreconditionRequired, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(DefaultType, problem.RootElement.GetProperty("type").GetString());
        Assert.Equal(428, problem.RootElement.GetProperty("status").GetInt32());
        Assert.Contains("If-Match", problem.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, _handled);
    }

    [Fact]
    public async Task Attribute_Requires428_LikeTheConvention()
    {
        await using var app = await StartAsync();

        using var response = await app.GetTestClient().PostAsync("/attribute", null);

        Assert.Equal(HttpStatusCode.PreconditionRequired, response.StatusCode);
        Assert.Equal(0, _handled);
    }

    [Fact]
    public async Task GroupConvention_RequiresAConditionOnEveryEndpointOfTheGroup()
    {
        await using var app = await StartAsync();

        using var response = await app.GetTestClient().PostAsync("/group/item", null);

        Assert.Equal(HttpStatusCode.PreconditionRequired, response.StatusCode);
        Assert.Equal(0, _handled);
    }

    [Theory]
    [InlineData("If-Match", "\"563\"")]
    [InlineData("If-Match", "*")]
    [InlineData("If-Match", "W/\"563\"")]
    [InlineData("If-None-Match", "*")]
    [InlineData("If-None-Match", "\"1\", \"2\"")]
    public async Task UnsafeRequest_ReachesTheHandler_WhenItCarriesAReadableCondition(string header, string value)
    {
        await using var app = await StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/convention");
        request.Headers.TryAddWithoutValidation(header, value);

        using var response = await app.GetTestClient().SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, _handled);
    }

    [Theory]
    [InlineData("If-Match", "563")]
    [InlineData("If-Match", "*, \"563\"")]
    [InlineData("If-None-Match", "abc")]
    public async Task UnsafeRequest_Gets400Problem_WhenItsConditionCannotBeRead(string header, string value)
    {
        await using var app = await StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/convention");
        request.Headers.TryAddWithoutValidation(header, value);

        using var response = await app.GetTestClient().SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(IdempotencyProblemTypes.DefaultBaseUri + PreconditionProblemTypes.PreconditionMalformed, problem.RootElement.GetProperty("type").GetString());
        Assert.Contains(header, problem.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, _handled);
    }

    [Fact]
    public async Task UnsafeRequest_Gets428_WhenItCarriesOnlyADateCondition()
    {
        await using var app = await StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/convention");
        request.Headers.TryAddWithoutValidation("If-Unmodified-Since", "Sun, 01 Mar 2026 10:00:00 GMT");

        using var response = await app.GetTestClient().SendAsync(request);

        Assert.Equal(HttpStatusCode.PreconditionRequired, response.StatusCode);
    }

    [Theory]
    [InlineData("GET")]
    [InlineData("HEAD")]
    [InlineData("OPTIONS")]
    public async Task SafeRequest_ReachesTheHandler_WithoutACondition(string method)
    {
        await using var app = await StartAsync();

        using var response = await app.GetTestClient().SendAsync(new HttpRequestMessage(new HttpMethod(method), "/convention"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, _handled);
    }

    [Fact]
    public async Task SafeRequest_ReachesTheHandler_WithAnUnreadableCondition()
    {
        await using var app = await StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/convention");
        request.Headers.TryAddWithoutValidation("If-None-Match", "563");

        using var response = await app.GetTestClient().SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task EndpointWithoutTheMetadata_RunsUnconditionalWrites()
    {
        await using var app = await StartAsync();

        using var response = await app.GetTestClient().PostAsync("/plain", null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, _handled);
    }

    [Fact]
    public async Task ProblemType_UsesTheConfiguredBaseUri()
    {
        await using var app = await StartAsync(services => services.AddIdempotency(options => options.ProblemTypeBaseUri = "https://bank.example/problems/"));

        using var response = await app.GetTestClient().PostAsync("/convention", null);

        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("https://bank.example/problems/precondition-required", problem.RootElement.GetProperty("type").GetString());
    }

    [Fact]
    public async Task Metadata_IsDiscoverableOnTheEndpoint_WhetherAddedByConventionOrAttribute()
    {
        await using var app = await StartAsync();

        var endpoints = app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .ToDictionary(e => e.RoutePattern.RawText!, e => e.Metadata.GetMetadata<IPreconditionMetadata>() is not null);

        Assert.True(endpoints["/convention"]);
        Assert.True(endpoints["/attribute"]);
        Assert.True(endpoints["/group/item"]);
        Assert.False(endpoints["/plain"]);
    }

    private Task<WebApplication> StartAsync(Action<IServiceCollection>? services = null) => PreconditionTestHost.StartAsync(
        app =>
        {
            app.MapMethods("/convention", ["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"], Handle).RequirePrecondition();
            app.MapPost("/attribute", [RequirePrecondition] () => Handle());
            app.MapGroup("/group").RequirePrecondition().MapPost("/item", Handle);
            app.MapPost("/plain", Handle);
        },
        services);

    private IResult Handle()
    {
        Interlocked.Increment(ref _handled);
        return Results.Ok();
    }
}
