using System.Collections.Concurrent;
using System.Net;
using Idempotency.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace Idempotency.AspNetCore.Tests.Client;

/// <summary>
/// The whole story from the caller's seat: an <see cref="HttpClient"/> with <c>AddIdempotencyKeys()</c> and
/// <c>AddStandardResilienceHandler()</c>, a network that loses requests and responses, and the real middleware.
/// </summary>
public sealed class ClientEndToEndTests
{
    private const int Operations = 120;

    [Fact]
    public async Task WithKeysAndRetries_TheServerAppliesEachOperationExactlyOnce_ThroughLostRequestsAndResponses()
    {
        var applied = new ConcurrentDictionary<int, int>();
        await using var app = await StartServerAsync(applied, requireKeys: true);
        var random = new Random(20_240_611);
        var faults = new FaultInjectingHandler(_ => random.Next(10) switch { 0 or 1 => Fault.DropResponse, 2 => Fault.DropRequest, _ => Fault.None });
        await using var client = CreateClient(app, faults, keys: true);

        var replayed = 0;
        for (var id = 0; id < Operations; id++)
        {
            using var response = await client.Http.PostAsync(new Uri($"/operations/{id}", UriKind.Relative), new StringContent("{\"amount\":100}", null, "application/json"));
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            replayed += response.IsIdempotentReplay() ? 1 : 0;
        }

        Assert.True(faults.DroppedResponses >= 10, $"the seeded faults must lose responses; lost {faults.DroppedResponses}");
        Assert.True(faults.DroppedRequests >= 5, $"the seeded faults must lose requests; lost {faults.DroppedRequests}");
        Assert.Equal(Operations, applied.Count);
        Assert.All(applied, operation => Assert.Equal(1, operation.Value));

        // Exactly the operations that lost a response were answered by a replay of the attempt that was applied.
        Assert.Equal(faults.LostResponsePaths.Count, replayed);
    }

    [Fact]
    public async Task WithoutKeys_TheSameLostResponses_ApplyOperationsTwice()
    {
        // The control: the same network and retries without the key handler. The endpoint honours keys when sent
        // (EnableIdempotency), so requests without one run unprotected, and every lost response becomes a duplicate.
        var applied = new ConcurrentDictionary<int, int>();
        await using var app = await StartServerAsync(applied, requireKeys: false);
        var random = new Random(20_240_611);
        var faults = new FaultInjectingHandler(_ => random.Next(10) switch { 0 or 1 => Fault.DropResponse, 2 => Fault.DropRequest, _ => Fault.None });
        await using var client = CreateClient(app, faults, keys: false);

        for (var id = 0; id < Operations; id++)
        {
            using var response = await client.Http.PostAsync(new Uri($"/operations/{id}", UriKind.Relative), new StringContent("{\"amount\":100}", null, "application/json"));
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        }

        Assert.Equal(Operations + faults.DroppedResponses, applied.Values.Sum());
        Assert.True(faults.DroppedResponses >= 10);
    }

    [Fact]
    public async Task AnAttemptAbandonedWhileTheServerStillRuns_IsAnsweredByTheOriginal_NotRunAgain()
    {
        // The client gives up on the first attempt while the server is still running it (a reset, an attempt
        // timeout); resilience retries, finds the key in flight (409 request-in-flight, which resilience does not
        // retry); the key handler waits Retry-After and sends again, and gets the original's stored answer.
        var applied = new ConcurrentDictionary<int, int>();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await TestApp.StartAsync(e => e.MapPost("/operations/{id:int}", async (int id) =>
        {
            applied.AddOrUpdate(id, 1, (_, n) => n + 1);
            started.TrySetResult();
            await release.Task;
            return Results.Created($"/operations/{id}", new { id });
        }).RequireIdempotency());
        var network = new AbandoningHandler(started.Task, release);
        await using var client = CreateClient(app, network, keys: true);

        using var response = await client.Http.PostAsync(new Uri("/operations/7", UriKind.Relative), new StringContent("{}", null, "application/json"));
        await network.AbandonedAttempt!;

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.True(response.IsIdempotentReplay());
        Assert.Equal([HttpStatusCode.Conflict, HttpStatusCode.Created], network.Statuses);
        Assert.Equal(1, applied[7]);
    }

    private static Task<TestApp> StartServerAsync(ConcurrentDictionary<int, int> applied, bool requireKeys) =>
        TestApp.StartAsync(e =>
        {
            var endpoint = e.MapPost("/operations/{id:int}", (int id) =>
            {
                applied.AddOrUpdate(id, 1, (_, n) => n + 1);
                return Results.Created($"/operations/{id}", new { id });
            });
            _ = requireKeys ? endpoint.RequireIdempotency() : endpoint.EnableIdempotency();
        });

    private static ClientHost CreateClient(TestApp app, DelegatingHandler network, bool keys)
    {
        var server = (TestServer)app.Services.GetRequiredService<IServer>();
        var services = new ServiceCollection();
        var client = services.AddHttpClient("ledger", http =>
        {
            http.BaseAddress = new Uri("http://localhost/");
            http.DefaultRequestHeaders.Add(TestApp.UserHeader, "alice");
        });
        client.ConfigurePrimaryHttpMessageHandler(server.CreateHandler);
        client.AddStandardResilienceHandler(o =>
        {
            o.Retry.MaxRetryAttempts = 10;
            o.Retry.Delay = TimeSpan.Zero;
            o.CircuitBreaker.FailureRatio = 1.0; // a lossy network is the point here, not a reason to stop calling
        });
        client.AddHttpMessageHandler(() => network);

        // Registered last on purpose: AddIdempotencyKeys() still puts its handler outside the resilience handler.
        if (keys)
        {
            client.AddIdempotencyKeys();
        }

        var provider = services.BuildServiceProvider();
        return new ClientHost(provider, provider.GetRequiredService<IHttpClientFactory>().CreateClient("ledger"));
    }

    /// <summary>
    /// Loses the first attempt once the server has started running it, leaving it running; records the status of
    /// every later attempt, and lets the server finish once the retry has been told the key is in flight.
    /// </summary>
    private sealed class AbandoningHandler(Task serverStarted, TaskCompletionSource release) : DelegatingHandler
    {
        public Task? AbandonedAttempt { get; private set; }

        public List<HttpStatusCode> Statuses { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (AbandonedAttempt is null)
            {
                AbandonedAttempt = base.SendAsync(request, CancellationToken.None);
                await serverStarted.WaitAsync(cancellationToken);
                throw new HttpRequestException("Injected fault: the connection was reset while the server was still running the request.");
            }

            var response = await base.SendAsync(request, cancellationToken);
            Statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.Conflict)
            {
                release.TrySetResult();
            }

            return response;
        }
    }

    private sealed class ClientHost(ServiceProvider provider, HttpClient http) : IAsyncDisposable
    {
        public HttpClient Http { get; } = http;

        public ValueTask DisposeAsync()
        {
            Http.Dispose();
            return provider.DisposeAsync();
        }
    }
}
