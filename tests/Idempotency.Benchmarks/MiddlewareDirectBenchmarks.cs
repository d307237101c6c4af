using System.Text;
using BenchmarkDotNet.Attributes;
using Idempotency.AspNetCore.Deduplication;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Idempotency.Benchmarks;

/// <summary>
/// The middleware invoked directly on a <see cref="DefaultHttpContext"/>, with no server and no sockets: what the
/// middleware itself costs per request, beside the same handler called without it.
/// </summary>
[MemoryDiagnoser]
public class MiddlewareDirectBenchmarks
{
    private static readonly byte[] s_body = Encoding.UTF8.GetBytes("{\"amount\":10000}");
    private static readonly byte[] s_response = Encoding.UTF8.GetBytes("{\"account\":1,\"entry\":1,\"amount\":10000,\"balance\":10000}");
    private IServiceProvider _services = null!;
    private RequestDelegate _withMiddleware = null!;
    private Endpoint _keyed = null!;
    private Endpoint _plain = null!;
    private long _next;

    [GlobalSetup]
    public void Setup()
    {
        var services = new ServiceCollection();
        services.AddLogging(b => b.ClearProviders());
        services.AddIdempotency().AddInMemoryStore(o =>
        {
            o.MaxEntries = int.MaxValue;
            o.MaxBytes = long.MaxValue;
        });
        _services = services.BuildServiceProvider();
        var middleware = ActivatorUtilities.CreateInstance<IdempotencyMiddleware>(_services, (RequestDelegate)HandlerAsync);
        _withMiddleware = middleware.InvokeAsync;
        _keyed = new RouteEndpoint(HandlerAsync, RoutePatternFactory.Parse("/keyed"), 0, new EndpointMetadataCollection(new RequireIdempotencyAttribute()), "keyed");
        _plain = new RouteEndpoint(HandlerAsync, RoutePatternFactory.Parse("/plain"), 0, EndpointMetadataCollection.Empty, "plain");
        Run(_withMiddleware, _keyed, "replayed-key").GetAwaiter().GetResult();
    }

    [Benchmark(Baseline = true)]
    public Task HandlerAlone() => Run(HandlerAsync, _keyed, key: null);

    [Benchmark]
    public Task PassThrough() => Run(_withMiddleware, _plain, key: null);

    [Benchmark]
    public Task NewKey() => Run(_withMiddleware, _keyed, "k" + Interlocked.Increment(ref _next));

    [Benchmark]
    public Task Replay() => Run(_withMiddleware, _keyed, "replayed-key");

    private async Task Run(RequestDelegate pipeline, Endpoint endpoint, string? key)
    {
        var context = new DefaultHttpContext { RequestServices = _services };
        context.Request.Method = HttpMethods.Post;
        context.Request.Path = "/keyed";
        context.Request.ContentType = "application/json";
        context.Request.ContentLength = s_body.Length;
        context.Request.Body = new MemoryStream(s_body, writable: false);
        context.Features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(new MemoryStream()));
        if (key is not null)
        {
            context.Request.Headers["Idempotency-Key"] = key;
        }

        context.SetEndpoint(endpoint);
        await pipeline(context);
    }

    private static async Task HandlerAsync(HttpContext context)
    {
        // Reads the body and writes a small JSON response, as the end-to-end benchmark's handler does.
        var buffer = new byte[64];
        while (await context.Request.Body.ReadAsync(buffer) > 0)
        {
        }

        context.Response.StatusCode = StatusCodes.Status201Created;
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.Headers.Location = "/accounts/1/entries/1";
        await context.Response.BodyWriter.WriteAsync(s_response);
    }
}
