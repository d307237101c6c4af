using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Time.Testing;
using Polly;

namespace Idempotency.Http.Tests.Client;

public sealed class IdempotencyKeyHandlerTests
{
    [Fact]
    public async Task UnsafeRequest_GetsAQuotedVersion7Key()
    {
        var server = new ScriptedServer(_ => new HttpResponseMessage(HttpStatusCode.Created));
        using var client = new HttpClient(new IdempotencyKeyHandler { InnerHandler = server });

        await client.PostAsync(new Uri("http://test/pay"), new StringContent("{}"));

        var key = Assert.Single(server.Keys)!;
        Assert.StartsWith("\"", key, StringComparison.Ordinal);
        Assert.Equal(7, Guid.Parse(key.Trim('"')).Version);
    }

    [Fact]
    public async Task KeySetByTheCaller_IsKept()
    {
        var server = new ScriptedServer(_ => new HttpResponseMessage(HttpStatusCode.Created));
        using var client = new HttpClient(new IdempotencyKeyHandler { InnerHandler = server });
        using var request = new HttpRequestMessage(HttpMethod.Post, "http://test/pay");
        request.Headers.Add("Idempotency-Key", "\"mine\"");

        await client.SendAsync(request);

        Assert.Equal("\"mine\"", Assert.Single(server.Keys));
    }

    [Fact]
    public async Task SafeAndIdempotentMethods_GetNoKey_UnlessConfigured()
    {
        var server = new ScriptedServer(_ => new HttpResponseMessage(HttpStatusCode.OK));
        var options = new IdempotencyKeyHandlerOptions();
        using var client = new HttpClient(new IdempotencyKeyHandler(options) { InnerHandler = server });

        await client.GetAsync(new Uri("http://test/a"));
        await client.PutAsync(new Uri("http://test/a"), new StringContent("{}"));
        await client.PatchAsync(new Uri("http://test/a"), new StringContent("{}"));
        options.Methods.Add("PUT");
        await client.PutAsync(new Uri("http://test/a"), new StringContent("{}"));

        Assert.Equal(["none", "none", "key", "key"], server.Keys.Select(k => k is null ? "none" : "key").ToArray());
    }

    [Fact]
    public async Task CustomGenerator_IsUsed_AndAnInvalidKeyIsRefusedLoudly()
    {
        var server = new ScriptedServer(_ => new HttpResponseMessage(HttpStatusCode.OK));
        using var good = new HttpClient(new IdempotencyKeyHandler(new() { KeyGenerator = _ => "order-17" }) { InnerHandler = server });
        using var bad = new HttpClient(new IdempotencyKeyHandler(new() { KeyGenerator = _ => "has space" }) { InnerHandler = server });

        await good.PostAsync(new Uri("http://test/a"), new StringContent("{}"));
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => bad.PostAsync(new Uri("http://test/a"), new StringContent("{}")));

        Assert.Equal("\"order-17\"", Assert.Single(server.Keys));
        Assert.Contains("KeyGenerator", error.Message, StringComparison.Ordinal);
    }

    // A generator often builds the key from the message (an order id, a customer's e-mail address): the exception,
    // which the application logs at Error, says what is wrong with the value and where, never the value itself.
    [Theory]
    [InlineData("order-17 alice@example.com", "its character at position 9 is a space")]
    [InlineData("order-17\nalice@example.com", "its character at position 9 is a control character")]
    [InlineData("order-17;alice@example.com", "its character at position 9 is ';'")]
    [InlineData("order-17-alice@exämple.com", "its character at position 18 is not ASCII")]
    [InlineData("\"order-17-alice@example.com\"", "its character at position 1 is '\"'")]
    [InlineData("", "it is empty")]
    public async Task InvalidGeneratedKey_IsDescribed_WithoutQuotingIt(string key, string what)
    {
        var server = new ScriptedServer(_ => new HttpResponseMessage(HttpStatusCode.OK));
        using var client = new HttpClient(new IdempotencyKeyHandler(new() { KeyGenerator = _ => key }) { InnerHandler = server });

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => client.PostAsync(new Uri("http://test/a"), new StringContent("{}")));

        Assert.Contains("IdempotencyKeyHandlerOptions.KeyGenerator returned a value that is not a valid idempotency key: " + what, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("alice", error.Message, StringComparison.Ordinal);
        Assert.Empty(server.Keys);
    }

    [Fact]
    public async Task TooLongGeneratedKey_IsDescribedByItsLength_WithoutQuotingIt()
    {
        var key = "customer-alice@example.com-" + new string('x', 300);
        var server = new ScriptedServer(_ => new HttpResponseMessage(HttpStatusCode.OK));
        using var client = new HttpClient(new IdempotencyKeyHandler(new() { KeyGenerator = _ => key }) { InnerHandler = server });

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => client.PostAsync(new Uri("http://test/a"), new StringContent("{}")));

        Assert.Contains($"it is {key.Length} characters long, and the most is 255", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("alice", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InFlightConflict_IsSentAgainAfterRetryAfter_WithTheSameKey()
    {
        var time = new FakeTimeProvider();
        var server = new ScriptedServer(attempt => attempt < 3 ? InFlight() : new HttpResponseMessage(HttpStatusCode.Created));
        using var client = new HttpClient(new IdempotencyKeyHandler(timeProvider: time) { InnerHandler = server });

        var sending = client.PostAsync(new Uri("http://test/pay"), new StringContent("{}"));
        while (!sending.IsCompleted)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(1);
        }

        var response = await sending;
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(3, server.Keys.Count);
        Assert.Single(server.Keys.Distinct());
    }

    [Fact]
    public async Task ApplicationConflict_IsNeverSentAgain()
    {
        var server = new ScriptedServer(_ => Problem(HttpStatusCode.Conflict, "https://bank.example/insufficient-funds", retryAfter: true));
        using var client = new HttpClient(new IdempotencyKeyHandler { InnerHandler = server });

        var response = await client.PostAsync(new Uri("http://test/pay"), new StringContent("{}"));

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Single(server.Keys);
    }

    [Fact]
    public async Task KeyReused_IsNeverSentAgain_AndIsReported()
    {
        var server = new ScriptedServer(_ => Problem(HttpStatusCode.UnprocessableEntity, DocsBase + "key-reused", retryAfter: false));
        using var client = new HttpClient(new IdempotencyKeyHandler { InnerHandler = server });

        var response = await client.PostAsync(new Uri("http://test/pay"), new StringContent("{}"));

        Assert.True(await response.IsIdempotencyKeyReusedAsync());
        Assert.Single(server.Keys);
    }

    [Theory]
    [InlineData("https://api.example.com/problems/key-reused", true)] // a base of the service's own, ending with '/'
    [InlineData("https://api.example.com/problems#key-reused", true)]
    [InlineData("https://api.example.com/problems/not-key-reused", false)]
    [InlineData("key-reused", false)]
    public async Task KeyReuse_IsRecognisedByItsName_AfterAnyBaseEndingWithSlashOrHash(string type, bool reused)
    {
        using var response = Problem(HttpStatusCode.UnprocessableEntity, type, retryAfter: false);

        Assert.Equal(reused, await response.IsIdempotencyKeyReusedAsync());
    }

    [Fact]
    public async Task RequestInFlight_IsRecognised_AndAnApplications409IsNot()
    {
        using var inFlight = InFlight();
        using var insufficientFunds = Problem(HttpStatusCode.Conflict, "https://bank.example/insufficient-funds", retryAfter: false);
        using var inFlightWithOtherStatus = Problem(HttpStatusCode.BadRequest, DocsBase + "request-in-flight", retryAfter: false);

        Assert.True(await inFlight.IsIdempotencyRequestInFlightAsync());
        Assert.False(await insufficientFunds.IsIdempotencyRequestInFlightAsync());
        Assert.False(await inFlightWithOtherStatus.IsIdempotencyRequestInFlightAsync());
    }

    // The resilience pipeline's retry re-sends the 409 instead of the key handler's own loop, waiting Retry-After
    // (HttpRetryStrategyOptions.ShouldRetryAfterHeader, on by default) rather than its own backoff, with the same key.
    [Fact]
    public async Task ResilienceRetry_ReSendsRequestInFlight_WithTheSameKey_AfterRetryAfter()
    {
        var server = new ScriptedServer(attempt => attempt < 3 ? InFlight() : new HttpResponseMessage(HttpStatusCode.Created));
        var delays = new List<TimeSpan>();
        var services = new ServiceCollection();
        services.AddHttpClient("ledger")
            .ConfigurePrimaryHttpMessageHandler(() => server)
            .AddIdempotencyKeys(o => o.MaxInFlightRetries = 0)
            .AddResilienceHandler("retry", pipeline => pipeline.AddRetry(new HttpRetryStrategyOptions
            {
                Delay = TimeSpan.FromMinutes(5), // far from the server's Retry-After, so the test sees which one was used
                UseJitter = false,
                ShouldHandle = async args =>
                    HttpClientResiliencePredicates.IsTransient(args.Outcome)
                    || args.Outcome.Result is { } response && await response.IsIdempotencyRequestInFlightAsync(args.Context.CancellationToken),
                OnRetry = args =>
                {
                    delays.Add(args.RetryDelay);
                    return default;
                },
            }));
        await using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<IHttpClientFactory>().CreateClient("ledger");

        var response = await client.PostAsync(new Uri("http://test/pay"), new StringContent("{}"));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(3, server.Keys.Count);
        Assert.Single(server.Keys.Distinct());
        Assert.Equal([TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1)], delays);
    }

    [Fact]
    public async Task AnApplications422_IsNotAKeyReuse()
    {
        using var validation = Problem(HttpStatusCode.UnprocessableEntity, "https://bank.example/invalid-amount", retryAfter: false);
        using var plain = new HttpResponseMessage(HttpStatusCode.UnprocessableEntity) { Content = new StringContent("{\"type\":\"x/key-reused\"}") };
        using var reusedWithOtherStatus = Problem(HttpStatusCode.BadRequest, DocsBase + "key-reused", retryAfter: false);

        Assert.False(await validation.IsIdempotencyKeyReusedAsync());
        Assert.False(await plain.IsIdempotencyKeyReusedAsync()); // not application/problem+json
        Assert.False(await reusedWithOtherStatus.IsIdempotencyKeyReusedAsync());
    }

    [Fact]
    public async Task ReadingTheProblemType_LeavesTheBodyReadable()
    {
        using var response = Problem(HttpStatusCode.UnprocessableEntity, DocsBase + "key-reused", retryAfter: false);

        Assert.True(await response.IsIdempotencyKeyReusedAsync());
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(422, problem.GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task AnApplicationConflictWithRetryAfter_IsReturnedWithItsBodyReadable()
    {
        // The handler reads the problem type to tell it from request-in-flight; the caller must still get the body.
        var server = new ScriptedServer(_ => Problem(HttpStatusCode.Conflict, "https://bank.example/insufficient-funds", retryAfter: true));
        using var client = new HttpClient(new IdempotencyKeyHandler { InnerHandler = server });

        var response = await client.PostAsync(new Uri("http://test/pay"), new StringContent("{}"));
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal("https://bank.example/insufficient-funds", problem.GetProperty("type").GetString());
        Assert.Single(server.Keys);
    }

    [Fact]
    public async Task ReplayedResponse_IsReported()
    {
        var server = new ScriptedServer(_ =>
        {
            var response = new HttpResponseMessage(HttpStatusCode.Created);
            response.Headers.Add("Idempotent-Replayed", "true");
            return response;
        });
        using var client = new HttpClient(new IdempotencyKeyHandler { InnerHandler = server });

        var replay = await client.PostAsync(new Uri("http://test/pay"), new StringContent("{}"));
        var fresh = new HttpResponseMessage(HttpStatusCode.Created);

        Assert.True(replay.IsIdempotentReplay());
        Assert.False(fresh.IsIdempotentReplay());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task RetriesOfUnsafeMethods_ReuseTheKey_WhenEnabled_InEitherRegistrationOrder(bool keysFirst)
    {
        var server = new ScriptedServer(attempt => attempt switch
        {
            1 => new HttpResponseMessage(HttpStatusCode.ServiceUnavailable),
            2 => throw new HttpRequestException("connection reset after the server applied the request"),
            _ => new HttpResponseMessage(HttpStatusCode.Created),
        });
        var services = new ServiceCollection();
        var client = services.AddHttpClient("ledger").ConfigurePrimaryHttpMessageHandler(() => server);
        if (keysFirst)
        {
            client.AddIdempotencyKeys();
        }

        client.AddStandardResilienceHandler(o =>
        {
            o.Retry.Delay = TimeSpan.Zero;
            o.Retry.ShouldRetryAfterHeader = false;
        });
        if (!keysFirst)
        {
            client.AddIdempotencyKeys();
        }

        await using var provider = services.BuildServiceProvider();
        var http = provider.GetRequiredService<IHttpClientFactory>().CreateClient("ledger");

        var response = await http.PostAsync(new Uri("http://test/pay"), new StringContent("{\"amount\":100}", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(3, server.Keys.Count);
        Assert.Single(server.Keys.Distinct());
        Assert.NotNull(server.Keys[0]);
    }

    [Fact]
    public async Task WithTheHedgingHandler_EveryHedgedCopyCarriesTheSameKey_EvenWhenRegisteredAfterIt()
    {
        var (keys, _) = await SendHedgedAsync(client => client.AddIdempotencyKeys());

        Assert.True(keys.Count >= 2, "The slow first attempt must have been hedged.");
        Assert.Single(keys.Distinct());
    }

    [Fact]
    public async Task AKeyHandlerPlacedInsideTheHedgingHandler_WouldGiveEachCopyItsOwnKey()
    {
        // Why AddIdempotencyKeys() always places its handler first: inside, each hedged clone gets a new key.
        var (keys, _) = await SendHedgedAsync(client => client.AddHttpMessageHandler(() => new IdempotencyKeyHandler()));

        Assert.True(keys.Count >= 2);
        Assert.Equal(keys.Count, keys.Distinct().Count());
    }

    [Fact]
    public async Task AKeyHandlerAddedByHandAfterTheResilienceHandler_IsRefusedLoudly_WhenAddIdempotencyKeysIsCalledToo()
    {
        var services = new ServiceCollection();
        services.AddHttpClient("ledger")
            .ConfigurePrimaryHttpMessageHandler(() => new ScriptedServer(_ => new HttpResponseMessage(HttpStatusCode.Created)))
            .AddStandardResilienceHandler().Services.AddHttpClient("ledger")
            .AddHttpMessageHandler(() => new IdempotencyKeyHandler(new() { Methods = { "PUT" } }))
            .AddIdempotencyKeys();
        await using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<IHttpClientFactory>().CreateClient("ledger"));

        Assert.Contains("'ledger'", error.Message, StringComparison.Ordinal);
        Assert.Contains("position 1", error.Message, StringComparison.Ordinal);
        Assert.Contains("AddIdempotencyKeys()", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddIdempotencyKeysCalledTwice_AddsOneHandler_WithTheFirstCallsOptions()
    {
        var server = new ScriptedServer(_ => new HttpResponseMessage(HttpStatusCode.Created));
        var services = new ServiceCollection();
        services.AddHttpClient("ledger")
            .ConfigurePrimaryHttpMessageHandler(() => server)
            .AddIdempotencyKeys(o => o.KeyGenerator = _ => "first")
            .AddIdempotencyKeys(o => o.KeyGenerator = _ => "second");
        await using var provider = services.BuildServiceProvider();
        var http = provider.GetRequiredService<IHttpClientFactory>().CreateClient("ledger");

        await http.PostAsync(new Uri("http://test/pay"), new StringContent("{}"));

        Assert.Equal("\"first\"", Assert.Single(server.Keys));
    }

    private static async Task<(List<string?> Keys, HttpStatusCode Status)> SendHedgedAsync(Action<IHttpClientBuilder> addKeys)
    {
        var firstAttemptGate = new TaskCompletionSource();
        var server = new ScriptedServer(_ => new HttpResponseMessage(HttpStatusCode.Created)) { HoldFirstAttempt = firstAttemptGate.Task };
        var services = new ServiceCollection();
        var client = services.AddHttpClient("ledger").ConfigurePrimaryHttpMessageHandler(() => server);
        client.AddStandardHedgingHandler().Configure(o => o.Hedging.Delay = TimeSpan.FromMilliseconds(50));
        addKeys(client);
        await using var provider = services.BuildServiceProvider();
        var http = provider.GetRequiredService<IHttpClientFactory>().CreateClient("ledger");

        var response = await http.PostAsync(new Uri("http://test/pay"), new StringContent("{}", Encoding.UTF8, "application/json"));
        firstAttemptGate.SetResult();
        return (server.Keys, response.StatusCode);
    }

    // The server's default IdempotencyOptions.ProblemTypeBaseUri: the error reference, one anchor per type.
    private const string DocsBase = "https://github.com/idempotency-dotnet/idempotency/blob/main/docs/errors.md#";

    private static HttpResponseMessage InFlight() => Problem(HttpStatusCode.Conflict, DocsBase + "request-in-flight", retryAfter: true);

    private static HttpResponseMessage Problem(HttpStatusCode status, string type, bool retryAfter)
    {
        var response = new HttpResponseMessage(status)
        {
            Content = new StringContent($"{{\"type\":\"{type}\",\"status\":{(int)status}}}", Encoding.UTF8, "application/problem+json"),
        };
        if (retryAfter)
        {
            response.Headers.RetryAfter = new RetryConditionHeaderValue(TimeSpan.FromSeconds(1));
        }

        return response;
    }

    /// <summary>The server end: records the key of every attempt and answers from a script.</summary>
    private sealed class ScriptedServer(Func<int, HttpResponseMessage> answer) : HttpMessageHandler
    {
        public List<string?> Keys { get; } = [];

        /// <summary>When set, the first attempt waits for it (or for cancellation), like a slow server.</summary>
        public Task? HoldFirstAttempt { get; init; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            int attempt;
            lock (Keys)
            {
                Keys.Add(request.Headers.TryGetValues("Idempotency-Key", out var values) ? values.Single() : null);
                attempt = Keys.Count;
            }

            if (attempt == 1 && HoldFirstAttempt is not null)
            {
                await HoldFirstAttempt.WaitAsync(cancellationToken);
            }

            var response = answer(attempt);
            response.RequestMessage = request;
            return response;
        }
    }
}
