using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http.Resilience;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace Idempotency.Chaos.Tests.Infrastructure;

/// <summary>
/// How the chaos clients retry: at most <see cref="MaxAttempts"/> attempts of at most <see cref="AttemptTimeout"/>
/// each, with jittered exponential backoff, and never longer than <see cref="TotalTimeout"/> per operation.
/// </summary>
internal sealed record RetryShape
{
    public int MaxAttempts { get; init; } = 40;

    public TimeSpan AttemptTimeout { get; init; } = TimeSpan.FromSeconds(2);

    public TimeSpan TotalTimeout { get; init; } = TimeSpan.FromSeconds(120);

    public TimeSpan FirstBackoff { get; init; } = TimeSpan.FromMilliseconds(20);

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromMilliseconds(500);
}

/// <summary>
/// The client a user of the library would write: an <see cref="HttpClient"/> from <c>IHttpClientFactory</c> with
/// <c>AddIdempotencyKeys()</c> (one key per operation, kept across every retry) and a standard resilience handler that
/// retries connection failures, timeouts, 5xx, 408, 429 and the middleware's 409 <c>request-in-flight</c>. Each
/// request gets its own connection (<c>Connection: close</c>), as the fault-injecting proxy expects.
/// </summary>
internal sealed class LedgerClient : IDisposable
{
    private readonly ServiceProvider _services;

    private LedgerClient(ServiceProvider services, HttpClient http, AttemptCounter attempts)
    {
        _services = services;
        Http = http;
        Attempts = attempts;
    }

    public HttpClient Http { get; }

    public AttemptCounter Attempts { get; }

    /// <param name="baseAddress">Where to send requests; 127.0.0.1 only.</param>
    /// <param name="withKeys">Whether the client adds idempotency keys (off only for the control run).</param>
    /// <param name="shape">How it retries.</param>
    public static LedgerClient Create(Uri baseAddress, bool withKeys, RetryShape shape)
    {
        if (!IPAddress.IsLoopback(IPAddress.Parse(baseAddress.Host)))
        {
            throw new ArgumentException("Chaos traffic goes to 127.0.0.1 only.", nameof(baseAddress));
        }

        var attempts = new AttemptCounter();
        var services = new ServiceCollection();
        var builder = services.AddHttpClient("ledger", c =>
            {
                c.BaseAddress = baseAddress;
                c.Timeout = Timeout.InfiniteTimeSpan; // the resilience pipeline bounds every operation
            })
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                UseProxy = false,
                ConnectTimeout = TimeSpan.FromSeconds(2),
                AllowAutoRedirect = false,
            });
        if (withKeys)
        {
            builder.AddIdempotencyKeys();
        }

        builder.AddResilienceHandler("chaos", pipeline =>
        {
            pipeline.AddTimeout(shape.TotalTimeout);
            pipeline.AddRetry(new HttpRetryStrategyOptions
            {
                MaxRetryAttempts = shape.MaxAttempts - 1,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = shape.FirstBackoff,
                MaxDelay = shape.MaxBackoff,
                ShouldRetryAfterHeader = true,
                ShouldHandle = ShouldRetryAsync,
            });
            pipeline.AddTimeout(shape.AttemptTimeout);
        });
        builder.AddHttpMessageHandler(attempts.CreateHandler); // innermost: sees every attempt

        var provider = services.BuildServiceProvider();
        return new LedgerClient(provider, provider.GetRequiredService<IHttpClientFactory>().CreateClient("ledger"), attempts);
    }

    public void Dispose()
    {
        Http.Dispose();
        _services.Dispose();
    }

    private static async ValueTask<bool> ShouldRetryAsync(RetryPredicateArguments<HttpResponseMessage> args)
    {
        if (args.Outcome.Exception is { } exception)
        {
            return exception is HttpRequestException or TimeoutRejectedException or IOException;
        }

        var response = args.Outcome.Result!;
        var status = (int)response.StatusCode;
        if (status >= 500 || status is 408 or 429)
        {
            return true;
        }

        return status == 409 && await IsRequestInFlightAsync(response, args.Context.CancellationToken);
    }

    private static async Task<bool> IsRequestInFlightAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.Content.Headers.ContentType?.MediaType != "application/problem+json")
        {
            return false;
        }

        await response.Content.LoadIntoBufferAsync(cancellationToken);
        using var problem = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken), cancellationToken: cancellationToken);
        return problem.RootElement.TryGetProperty("type", out var type)
            && type.GetString()?.EndsWith("/request-in-flight", StringComparison.Ordinal) == true;
    }
}
