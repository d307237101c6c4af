using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc.Testing;

namespace BankLedger.Tests;

public sealed class MirroringTests(WebApplicationFactory<Program> factory) : IClassFixture<WebApplicationFactory<Program>>
{
    [Fact]
    public async Task MirrorSafety_ListsTheLedgerRoutes_ReadsSafe_KeyedWritesDeduplicated()
    {
        var report = await factory.CreateClient().GetFromJsonAsync<JsonElement>(new Uri("/mirror-safety", UriKind.Relative));

        var entries = report.GetProperty("endpoints").EnumerateArray()
            .ToDictionary(e => $"{string.Join(',', e.GetProperty("methods").EnumerateArray().Select(m => m.GetString()))} {e.GetProperty("route").GetString()}", e => e.GetProperty("class").GetString());
        Assert.Equal("Safe", entries["GET /accounts/{id:long}"]);
        Assert.Equal("Deduplicated", entries["POST /accounts/{id:long}/deposits"]);
        Assert.Equal("Deduplicated", entries["POST /transfers"]);
    }

    [Fact]
    public async Task ByDefault_TheSampleIsAPrimary_AndAMarkedDepositIsApplied()
    {
        var alice = Client(factory, "alice-token");
        var id = await OpenAccountAsync(alice);

        var deposit = await DepositAsync(alice, id, marker: "1");

        Assert.Equal(HttpStatusCode.Created, deposit.StatusCode);
    }

    [Fact]
    public async Task ConfiguredAsACanaryWithASecret_TheSampleSuppressesMirroredDeposits_AndRefusesForgedMarkers()
    {
        using var canary = factory.WithWebHostBuilder(b => b
            .UseSetting("Mirroring:Role", "Canary")
            .UseSetting("Mirroring:Data", "Shared")
            .UseSetting("Mirroring:Header", "X-Mirror")
            .UseSetting("Mirroring:Secret", "sample-secret-0123456789"));
        var alice = Client(canary, "alice-token");
        var id = await OpenAccountAsync(alice);

        var copy = await DepositAsync(alice, id, marker: "sample-secret-0123456789", header: "X-Mirror");
        var forged = await DepositAsync(alice, id, marker: "guess", header: "X-Mirror");
        var balance = (await alice.GetFromJsonAsync<JsonElement>(new Uri($"/accounts/{id}", UriKind.Relative))).GetProperty("balance").GetInt64();

        Assert.Equal(HttpStatusCode.Forbidden, copy.StatusCode);
        Assert.Equal("https://github.com/idempotency-dotnet/idempotency/blob/main/docs/errors.md#mirror-write-suppressed", (await copy.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("type").GetString());
        Assert.Equal(HttpStatusCode.Forbidden, forged.StatusCode);
        Assert.Equal("https://github.com/idempotency-dotnet/idempotency/blob/main/docs/errors.md#mirror-marker-invalid", (await forged.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("type").GetString());
        Assert.Equal(0, balance);
    }

    private static HttpClient Client(WebApplicationFactory<Program> factory, string token)
    {
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    private static async Task<long> OpenAccountAsync(HttpClient client)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/accounts", UriKind.Relative)) { Content = JsonContent.Create(new { owner = "andrew" }) };
        request.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString());
        var response = await client.SendAsync(request);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
    }

    private static async Task<HttpResponseMessage> DepositAsync(HttpClient client, long id, string marker, string header = "X-Shadow-Request")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"/accounts/{id}/deposits", UriKind.Relative)) { Content = JsonContent.Create(new { amount = 100 }) };
        request.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString());
        request.Headers.Add(header, marker);
        return await client.SendAsync(request);
    }
}
