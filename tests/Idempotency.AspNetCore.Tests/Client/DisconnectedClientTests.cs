using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Idempotency.AspNetCore.Tests.Client;

/// <summary>On a real Kestrel on 127.0.0.1: what a client that gives up on an attempt leaves behind on the server.</summary>
public sealed class DisconnectedClientTests
{
    [Fact]
    public async Task AClientThatDisconnectsWhileTheHandlerRuns_DoesNotReleaseTheKey_SoItsRetryIsAReplay()
    {
        // The handler applies its effect, the client's attempt times out and the connection is aborted, and only then
        // does the handler write its response, into a dead connection. That write must not count as a failure that
        // releases the key: the effect happened, so the retry must get the stored answer, not run again.
        var applied = new ConcurrentDictionary<int, int>();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var aborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddProblemDetails();
        builder.Services.AddIdempotency();
        await using var app = builder.Build();
        app.UseIdempotency();
        app.MapPost("/operations/{id:int}", async (int id, HttpContext context) =>
        {
            applied.AddOrUpdate(id, 1, (_, n) => n + 1);
            context.RequestAborted.Register(() => aborted.TrySetResult());
            started.TrySetResult();
            await release.Task;
            return Results.Json(new { id, padding = new string('x', 100_000) }, statusCode: StatusCodes.Status201Created);
        }).RequireIdempotency();
        await app.StartAsync();

        using var http = new HttpClient(new IdempotencyKeyHandler { InnerHandler = new SocketsHttpHandler() }) { BaseAddress = new Uri(app.Urls.Single()) };
        using (var attempt = new CancellationTokenSource())
        {
            using var first = Post("\"op-1\"");
            var sending = http.SendAsync(first, attempt.Token);
            await started.Task;
            await attempt.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sending);
        }

        await aborted.Task; // the server saw the disconnect before the handler wrote its response
        release.SetResult();

        // The retry may overtake the original's completion: the key handler then waits Retry-After for it.
        using var retry = Post("\"op-1\"");
        using var response = await http.SendAsync(retry);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.True(response.IsIdempotentReplay());
        Assert.Equal(1, applied[1]);
    }

    private static HttpRequestMessage Post(string key)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/operations/1") { Content = new StringContent("{}", null, "application/json") };
        request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
        return request;
    }
}
