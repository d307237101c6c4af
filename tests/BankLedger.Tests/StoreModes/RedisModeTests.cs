using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using BankLedger.Storage;
using BankLedger.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace BankLedger.Tests.StoreModes;

/// <summary>The sample in redis mode against a real redis-server: the keys live in Redis, the ledger stays in memory.</summary>
[Collection(RedisSampleCollection.Name)]
public sealed class RedisModeTests(RedisSampleFixture fixture)
{
    [Fact]
    public async Task RedisMode_StoresTheKeyInRedis_AndReplaysARetry()
    {
        await using var app = SampleApp.Redis(fixture.Server.ConnectionString());
        var alice = app.Client("alice-token");
        var id = await OpenAccountAsync(alice);
        var key = Guid.NewGuid().ToString();

        var first = await DepositAsync(alice, id, key);
        var retry = await DepositAsync(alice, id, key);
        var account = await alice.GetFromJsonAsync<JsonElement>($"/accounts/{id}");
        await using var redis = await ConnectionMultiplexer.ConnectAsync(fixture.Server.ConnectionString());
        var keys = redis.GetServer(fixture.Server.EndPoint).Keys(pattern: $"bankledger:idempotency:*{key}*").ToList();

        Assert.Equal(LedgerStoreMode.Redis, app.Services.GetRequiredService<LedgerStorage>().Mode);
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal("true", Assert.Single(retry.Headers.GetValues("Idempotent-Replayed")));
        Assert.Equal(await first.Content.ReadAsStringAsync(), await retry.Content.ReadAsStringAsync());
        Assert.Equal(10_000, account.GetProperty("balance").GetInt64());
        Assert.Single(keys);
    }

    [Fact]
    public async Task RedisMode_ReplaysARetryThatReachesAnotherInstance()
    {
        await using var first = SampleApp.Redis(fixture.Server.ConnectionString());
        await using var second = SampleApp.Redis(fixture.Server.ConnectionString());
        var key = Guid.NewGuid().ToString();

        var original = await OpenAccountAsync(first.Client("alice-token"), key);
        var retry = await OpenAccountAsync(second.Client("alice-token"), key);

        Assert.Equal(HttpStatusCode.Created, original.StatusCode);
        Assert.Equal("true", Assert.Single(retry.Headers.GetValues("Idempotent-Replayed")));
        Assert.Equal(original.Headers.Location, retry.Headers.Location);
        Assert.Equal(await original.Content.ReadAsStringAsync(), await retry.Content.ReadAsStringAsync());
    }

    private static async Task<long> OpenAccountAsync(HttpClient client)
    {
        var response = await OpenAccountAsync(client, Guid.NewGuid().ToString());
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
    }

    private static Task<HttpResponseMessage> OpenAccountAsync(HttpClient client, string key) =>
        SendAsync(client, "/accounts", new { owner = "andrew" }, key);

    private static Task<HttpResponseMessage> DepositAsync(HttpClient client, long id, string key) =>
        SendAsync(client, $"/accounts/{id}/deposits", new { amount = 10_000 }, key);

    private static Task<HttpResponseMessage> SendAsync(HttpClient client, string path, object body, string key)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        request.Headers.Add("Idempotency-Key", key);
        return client.SendAsync(request);
    }
}
