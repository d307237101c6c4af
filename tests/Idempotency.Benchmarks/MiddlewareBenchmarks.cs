using System.Text;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Idempotency.Benchmarks;

/// <summary>
/// The middleware in process (TestServer, no sockets): the pass-through path for an endpoint without metadata, with
/// and without UseIdempotency(), and keyed POSTs (new key, replay) beside the same endpoint unkeyed.
/// </summary>
[MemoryDiagnoser]
public class MiddlewareBenchmarks
{
    private WebApplication _withMiddleware = null!;
    private WebApplication _withoutMiddleware = null!;
    private HttpClient _with = null!;
    private HttpClient _without = null!;
    private long _next;

    [GlobalSetup]
    public async Task Setup()
    {
        (_withMiddleware, _with) = await StartAsync(useIdempotency: true);
        (_withoutMiddleware, _without) = await StartAsync(useIdempotency: false);
        using var first = Post(_with, "/keyed", "replayed-key");
        (await _with.SendAsync(first)).EnsureSuccessStatusCode();
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        await _withMiddleware.DisposeAsync();
        await _withoutMiddleware.DisposeAsync();
    }

    [Benchmark(Baseline = true)]
    public Task<string> GetWithoutMiddleware() => _without.GetStringAsync(new Uri("/plain", UriKind.Relative));

    [Benchmark]
    public Task<string> GetThroughMiddleware() => _with.GetStringAsync(new Uri("/plain", UriKind.Relative));

    [Benchmark]
    public async Task<int> PostUnkeyed()
    {
        using var request = Post(_without, "/keyed", key: null);
        using var response = await _without.SendAsync(request);
        return (int)response.StatusCode;
    }

    [Benchmark]
    public async Task<int> PostNewKey()
    {
        using var request = Post(_with, "/keyed", "k" + Interlocked.Increment(ref _next));
        using var response = await _with.SendAsync(request);
        return (int)response.StatusCode;
    }

    [Benchmark]
    public async Task<int> PostReplay()
    {
        using var request = Post(_with, "/keyed", "replayed-key");
        using var response = await _with.SendAsync(request);
        return (int)response.StatusCode;
    }

    private static HttpRequestMessage Post(HttpClient client, string path, string? key)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent("{\"amount\":10000}", Encoding.UTF8, "application/json") };
        if (key is not null)
        {
            request.Headers.Add("Idempotency-Key", key);
        }

        return request;
    }

    private static async Task<(WebApplication, HttpClient)> StartAsync(bool useIdempotency)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Services.AddIdempotency().AddInMemoryStore(o =>
        {
            o.MaxEntries = int.MaxValue;
            o.MaxBytes = long.MaxValue;
        });
        var app = builder.Build();
        if (useIdempotency)
        {
            app.UseIdempotency();
        }

        app.MapGet("/plain", () => "hello");
        var keyed = app.MapPost("/keyed", (Deposit deposit) => Results.Created("/accounts/1", deposit));
        if (useIdempotency)
        {
            keyed.RequireIdempotency();
        }

        await app.StartAsync();
        return (app, app.GetTestClient());
    }

    /// <summary>A small JSON body.</summary>
    public sealed record Deposit(long Amount);
}
