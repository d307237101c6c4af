using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Idempotency;
using Microsoft.Extensions.DependencyInjection;
using Polly;

namespace LedgerClient;

/// <summary>
/// The retry-storm demo: opens an account and sends deposits and withdrawals through an <see cref="HttpClient"/>
/// with the key handler, the standard resilience pipeline and a lossy network, then compares the balance the client
/// expects with the one the server holds.
/// </summary>
public static class RetryStorm
{
    private const string KeyHeader = "Idempotency-Key";

    /// <summary>Runs the demo against the ledger service at <paramref name="baseAddress"/>.</summary>
    /// <param name="baseAddress">The service, such as <c>http://127.0.0.1:5080/</c>.</param>
    /// <param name="options">What to send, and how bad the network is.</param>
    /// <param name="progress">Told how many operations have completed; <see langword="null"/> for none.</param>
    /// <param name="cancellationToken">Stops the run.</param>
    /// <returns>What the client saw, and what the server says.</returns>
    public static async Task<RetryStormReport> RunAsync(Uri baseAddress, RetryStormOptions options, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(baseAddress);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();

        var network = new FaultInjectingHandler(options.DropRequests, options.DropResponses, options.Seed) { Enabled = false };
        await using var services = CreateServices(baseAddress, options, network);
        var http = services.GetRequiredService<IHttpClientFactory>().CreateClient("ledger");

        var accountId = await OpenAccountAsync(http, cancellationToken);
        var operations = Plan(options);
        var tally = new Tally();

        network.Enabled = true;
        var attemptsBefore = network.Attempts;
        var completed = 0;
        await Parallel.ForEachAsync(
            operations,
            new ParallelOptions { MaxDegreeOfParallelism = options.Parallelism, CancellationToken = cancellationToken },
            async (operation, ct) =>
            {
                await SendAsync(http, accountId, operation, options.UseKeys, tally, ct);
                progress?.Report(Interlocked.Increment(ref completed));
            });
        var retried = network.Attempts - attemptsBefore - tally.Sends;
        network.Enabled = false;

        var account = await http.GetFromJsonAsync<JsonElement>(new Uri($"accounts/{accountId}", UriKind.Relative), cancellationToken);
        return new RetryStormReport
        {
            Operations = operations.Count,
            Succeeded = tally.Succeeded,
            ExpectedBalance = tally.ExpectedBalance,
            ActualBalance = account.GetProperty("balance").GetInt64(),
            ServerEntries = account.GetProperty("lastEntry").GetInt64(),
            Retried = retried,
            Replayed = tally.Replayed,
            Rejected = tally.Rejected,
            Failed = tally.Failed,
            DroppedRequests = network.DroppedRequests,
            DroppedResponses = network.DroppedResponses,
            UsedKeys = options.UseKeys,
        };
    }

    private static ServiceProvider CreateServices(Uri baseAddress, RetryStormOptions options, FaultInjectingHandler network)
    {
        var services = new ServiceCollection();
        var client = services.AddHttpClient("ledger", http =>
        {
            http.BaseAddress = baseAddress;
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", options.Token);
        });

        // The order that makes retries safe: the key handler outside the resilience pipeline, so that the key is
        // given once per operation and every retry carries it. AddIdempotencyKeys() places it there whatever the
        // order of these calls.
        if (options.UseKeys)
        {
            client.AddIdempotencyKeys();
        }

        client.AddStandardResilienceHandler(resilience =>
        {
            resilience.Retry.MaxRetryAttempts = 10;
            resilience.Retry.BackoffType = DelayBackoffType.Exponential;
            resilience.Retry.Delay = TimeSpan.FromMilliseconds(5);
            resilience.Retry.MaxDelay = TimeSpan.FromMilliseconds(200);

            // The demo's network is awful on purpose; a breaker would stop the storm instead of riding it out.
            resilience.CircuitBreaker.FailureRatio = 1.0;
        });

        if (!options.UseKeys)
        {
            // The mistake the demo shows: a key per attempt, given inside the retry loop.
            client.AddHttpMessageHandler(() => new FreshKeyPerAttemptHandler());
        }

        client.AddHttpMessageHandler(() => network);
        client.SetHandlerLifetime(Timeout.InfiniteTimeSpan); // one pipeline for the whole run: the fault injector is one instance
        return services.BuildServiceProvider();
    }

    private static async Task<long> OpenAccountAsync(HttpClient http, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("accounts", UriKind.Relative)) { Content = JsonContent.Create(new { owner = "retry-storm" }) };
        request.Headers.TryAddWithoutValidation(KeyHeader, "\"" + Guid.CreateVersion7() + "\""); // --no-keys still needs one here
        using var response = await http.SendAsync(request, cancellationToken);
        if (response.StatusCode != HttpStatusCode.Created)
        {
            throw new InvalidOperationException(
                $"Opening the demo account answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}. Check --url and --token.");
        }

        return (await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).GetProperty("id").GetInt64();
    }

    /// <summary>Deposits and withdrawals, in cents, drawn from the seed: three deposits for every two withdrawals.</summary>
    private static List<Operation> Plan(RetryStormOptions options)
    {
        var random = new Random(unchecked(options.Seed * 31 + 7));
        return Enumerable.Range(0, options.Operations)
            .Select(_ => random.Next(5) < 3
                ? new Operation("deposits", random.Next(1, 200) * 100L)
                : new Operation("withdrawals", random.Next(1, 200) * 100L))
            .ToList();
    }

    private static async Task SendAsync(HttpClient http, long accountId, Operation operation, bool useKeys, Tally tally, CancellationToken cancellationToken)
    {
        // An operation that failed after every retry is sent again, as a client would later, with the key the handler
        // gave it: if the lost attempt was applied, the server replays it instead of applying it again.
        string? key = null;
        for (var send = 0; send < 3; send++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"accounts/{accountId}/{operation.Kind}", UriKind.Relative))
            {
                Content = JsonContent.Create(new { amount = operation.Amount }),
            };
            if (key is not null)
            {
                request.Headers.TryAddWithoutValidation(KeyHeader, key);
            }

            tally.Sent();
            try
            {
                using var response = await http.SendAsync(request, cancellationToken);
                tally.Record(operation, response);
                return;
            }
            catch (Exception ex) when (ex is HttpRequestException or ExecutionRejectedException)
            {
                key = useKeys && request.Headers.TryGetValues(KeyHeader, out var values) ? values.Single() : null;
            }
        }

        tally.Fail();
    }

    private sealed record Operation(string Kind, long Amount)
    {
        public long Signed => Kind == "deposits" ? Amount : -Amount;
    }

    /// <summary>The client's own books, updated from many operations at once.</summary>
    private sealed class Tally
    {
        private long _expectedBalance;
        private int _sends;
        private int _succeeded;
        private int _replayed;
        private int _rejected;
        private int _failed;

        public long ExpectedBalance => Interlocked.Read(ref _expectedBalance);

        public int Sends => Volatile.Read(ref _sends);

        public int Succeeded => Volatile.Read(ref _succeeded);

        public int Replayed => Volatile.Read(ref _replayed);

        public int Rejected => Volatile.Read(ref _rejected);

        public int Failed => Volatile.Read(ref _failed);

        public void Sent() => Interlocked.Increment(ref _sends);

        public void Fail() => Interlocked.Increment(ref _failed);

        public void Record(Operation operation, HttpResponseMessage response)
        {
            if (response.IsIdempotentReplay())
            {
                Interlocked.Increment(ref _replayed);
            }

            if (response.StatusCode == HttpStatusCode.Created)
            {
                Interlocked.Increment(ref _succeeded);
                Interlocked.Add(ref _expectedBalance, operation.Signed);
            }
            else
            {
                // 409 insufficient funds, mostly: a final answer, never retried, and nothing was applied.
                Interlocked.Increment(ref _rejected);
            }
        }
    }
}
