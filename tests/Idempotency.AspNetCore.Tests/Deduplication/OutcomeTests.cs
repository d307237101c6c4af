using System.Net;
using Idempotency.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Idempotency.AspNetCore.Tests.Deduplication;

public sealed class OutcomeTests
{
    [Theory]
    [InlineData(500)]
    [InlineData(502)]
    [InlineData(503)]
    [InlineData(408)]
    [InlineData(425)]
    [InlineData(428)] // not carried out: the client is to send it again with a precondition, under the same key
    [InlineData(429)]
    public async Task TransientStatus_ReleasesTheKey_SoARetryRuns(int transientStatus)
    {
        var executions = 0;
        await using var app = await TestApp.StartAsync(e => e.MapPost("/pay", () =>
            Interlocked.Increment(ref executions) == 1 ? Results.StatusCode(transientStatus) : Results.Created("/p/1", "ok")).RequireIdempotency());

        var first = await app.SendAsync(TestApp.Post("/pay", "k"));
        var retry = await app.SendAsync(TestApp.Post("/pay", "k"));
        var replay = await app.SendAsync(TestApp.Post("/pay", "k"));

        Assert.Equal(transientStatus, (int)first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal(HttpStatusCode.Created, replay.StatusCode);
        Assert.True(replay.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(2, executions);
    }

    [Theory]
    [InlineData(200)]
    [InlineData(201)]
    [InlineData(204)]
    [InlineData(400)]
    [InlineData(404)]
    [InlineData(409)]
    [InlineData(422)]
    public async Task DeterministicStatus_IsStoredAndReplayed(int status)
    {
        var executions = 0;
        await using var app = await TestApp.StartAsync(e => e.MapPost("/pay", () =>
        {
            Interlocked.Increment(ref executions);
            return Results.StatusCode(status);
        }).RequireIdempotency());

        await app.SendAsync(TestApp.Post("/pay", "k"));
        var replay = await app.SendAsync(TestApp.Post("/pay", "k"));

        Assert.Equal(status, (int)replay.StatusCode);
        Assert.True(replay.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(1, executions);
    }

    [Fact]
    public async Task Exception_ReleasesTheKey_SoARetryRuns()
    {
        var executions = 0;
        await using var app = await TestApp.StartAsync(e => e.MapPost("/pay", () =>
        {
            if (Interlocked.Increment(ref executions) == 1)
            {
                throw new InvalidOperationException("transient failure");
            }

            return "ok";
        }).RequireIdempotency());

        await Assert.ThrowsAnyAsync<Exception>(() => app.SendAsync(TestApp.Post("/pay", "k")));
        var retry = await app.SendAsync(TestApp.Post("/pay", "k"));

        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.False(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(2, executions);
    }

    [Fact]
    public async Task CustomPredicate_DecidesWhatIsStored()
    {
        var executions = 0;
        await using var app = await TestApp.StartAsync(
            e => e.MapPost("/pay", () =>
            {
                Interlocked.Increment(ref executions);
                return Results.StatusCode(StatusCodes.Status404NotFound);
            }).RequireIdempotency(),
            o => o.ShouldStoreResponse = args => args.StatusCode < 400);

        await app.SendAsync(TestApp.Post("/pay", "k"));
        await app.SendAsync(TestApp.Post("/pay", "k"));

        Assert.Equal(2, executions);
    }
}
