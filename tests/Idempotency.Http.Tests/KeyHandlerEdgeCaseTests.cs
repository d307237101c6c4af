using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Idempotency.Http.Tests;

public sealed class KeyHandlerEdgeCaseTests
{
    private const string InFlightType = "https://github.com/idempotency-dotnet/idempotency/blob/main/docs/errors.md#request-in-flight";

    // Timeout.InfiniteTimeSpan is .NET's usual "no limit", but it is -1 ms: every Retry-After is "longer" than it, so
    // the handler silently stopped re-sending in-flight 409s. A negative limit must be refused where it is configured.
    [Fact]
    public void AddIdempotencyKeys_RefusesANegativeMaxRetryAfter()
    {
        var services = new ServiceCollection();

        var error = Assert.Throws<ArgumentOutOfRangeException>(() =>
            services.AddHttpClient("ledger").AddIdempotencyKeys(o => o.MaxRetryAfter = Timeout.InfiniteTimeSpan));

        Assert.Contains("MaxRetryAfter", error.Message, StringComparison.Ordinal);
    }

    // A header name that is not an HTTP token passed registration, then failed every request when the key was added.
    [Theory]
    [InlineData("Idempotency Key")]
    [InlineData("Idempotency-Key:")]
    [InlineData("Cl\u00e9")]
    public void HeaderNamesThatAreNotTokens_AreRefusedWhereTheyAreConfigured(string headerName)
    {
        var services = new ServiceCollection();

        var registration = Assert.Throws<ArgumentException>(() => services.AddHttpClient("ledger").AddIdempotencyKeys(o => o.HeaderName = headerName));
        var construction = Assert.Throws<ArgumentException>(() => new IdempotencyKeyHandler(new() { HeaderName = headerName }));

        Assert.Contains($"IdempotencyKeyHandlerOptions.HeaderName must be a valid HTTP header name", registration.Message, StringComparison.Ordinal);
        Assert.Contains($"IdempotencyKeyHandlerOptions.HeaderName must be a valid HTTP header name", construction.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Handler_RefusesANegativeMaxInFlightRetries()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new IdempotencyKeyHandler(new() { MaxInFlightRetries = -1 }));
    }

    [Fact]
    public void Handler_RefusesANegativeMaxRetryAfter()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new IdempotencyKeyHandler(new() { MaxRetryAfter = TimeSpan.FromSeconds(-1) }));
    }

    // With MaxRetryAfter = TimeSpan.MaxValue ("honour whatever the server says"), a Retry-After longer than a timer can
    // wait made Task.Delay throw after the 409 had been disposed: the caller lost the answer to an exception.
    [Fact]
    public async Task RetryAfterLongerThanATimerCanWait_ReturnsThe409_InsteadOfThrowing()
    {
        var server = new CountingServer(() =>
        {
            var response = new HttpResponseMessage(HttpStatusCode.Conflict)
            {
                Content = new StringContent($"{{\"type\":\"{InFlightType}\",\"status\":409}}", Encoding.UTF8, "application/problem+json"),
            };
            response.Headers.RetryAfter = new RetryConditionHeaderValue(TimeSpan.FromDays(60));
            return response;
        });
        using var client = new HttpClient(new IdempotencyKeyHandler(new() { MaxRetryAfter = TimeSpan.MaxValue }, new FakeTimeProvider()) { InnerHandler = server });

        using var response = await client.PostAsync(new Uri("http://test/pay"), new StringContent("{}"));

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.True(await response.IsIdempotencyRequestInFlightAsync());
        Assert.Equal(1, server.Attempts);
    }

    // HttpContent's headers take any custom header, so a key the caller (or a generated client) put there travelled
    // next to a second, generated one: two Idempotency-Key fields with different values in one request.
    [Fact]
    public async Task KeySetByTheCallerOnTheContentHeaders_IsKept_AndNoSecondKeyIsAdded()
    {
        var keys = new List<string>();
        var server = new CountingServer(() => new HttpResponseMessage(HttpStatusCode.Created), request =>
        {
            keys.AddRange(request.Headers.TryGetValues("Idempotency-Key", out var values) ? values : []);
            keys.AddRange(request.Content!.Headers.TryGetValues("Idempotency-Key", out var contentValues) ? contentValues : []);
        });
        using var client = new HttpClient(new IdempotencyKeyHandler { InnerHandler = server });
        var content = new StringContent("{}");
        content.Headers.TryAddWithoutValidation("Idempotency-Key", "\"order-17\"");

        await client.PostAsync(new Uri("http://test/pay"), content);

        Assert.Equal("\"order-17\"", Assert.Single(keys));
    }

    // HttpClient.Send (synchronous) goes through DelegatingHandler.Send, which the handler did not override: the POST
    // went out without a key, and every retry of a resilience handler inside could apply it again.
    [Fact]
    public void SynchronousSend_GetsAKeyToo()
    {
        var keys = new List<string?>();
        var server = new SyncServer(request => keys.Add(request.Headers.TryGetValues("Idempotency-Key", out var values) ? values.Single() : null));
        using var client = new HttpClient(new IdempotencyKeyHandler(new() { KeyGenerator = _ => "order-17" }) { InnerHandler = server });

        using var response = client.Send(new HttpRequestMessage(HttpMethod.Post, "http://test/pay") { Content = new StringContent("{}") });

        Assert.Equal("\"order-17\"", Assert.Single(keys));
    }

    private sealed class SyncServer(Action<HttpRequestMessage> inspect) : HttpMessageHandler
    {
        protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            inspect(request);
            return new HttpResponseMessage(HttpStatusCode.Created) { RequestMessage = request };
        }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(Send(request, cancellationToken));
    }

    private sealed class CountingServer(Func<HttpResponseMessage> answer, Action<HttpRequestMessage>? inspect = null) : HttpMessageHandler
    {
        public int Attempts { get; private set; }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Attempts++;
            inspect?.Invoke(request);
            var response = answer();
            response.RequestMessage = request;
            return Task.FromResult(response);
        }
    }
}
