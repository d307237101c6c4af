using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using BankLedger.Endpoints;
using BankLedger.Ledger;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace BankLedger.Tests;

/// <summary>The ledger's HTTP API. It runs in every store mode: the subclasses below (and in StoreModes/) supply the app.</summary>
public abstract class LedgerApiTests(WebApplicationFactory<Program> factory)
{
    [Fact]
    public async Task Healthz_AnswersWithoutAuthentication()
    {
        var response = await factory.CreateClient().GetAsync(new Uri("/healthz", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Healthz_ChecksTheIdempotencyStoreOfThisMode()
    {
        var report = await factory.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();

        var store = Assert.Single(report.Entries, e => e.Key == "idempotency-store").Value;
        Assert.Equal(HealthStatus.Healthy, store.Status);
        Assert.False(string.IsNullOrEmpty(store.Description));
    }

    [Fact]
    public async Task RequestsWithoutAValidToken_Get401()
    {
        var client = factory.CreateClient();

        var none = await client.GetAsync(new Uri("/accounts/1", UriKind.Relative));
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "forged-token");
        var forged = await client.PostAsync(new Uri("/accounts", UriKind.Relative), JsonContent.Create(new { owner = "x" }));

        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, forged.StatusCode);
    }

    [Fact]
    public async Task OpenAccount_Returns201WithLocation_AndTheAccountCarriesAnETag()
    {
        var alice = Client("alice-token");

        var created = await SendAsync(alice, HttpMethod.Post, "/accounts", new { owner = "andrew" }, NewKey());
        var account = await created.Content.ReadFromJsonAsync<JsonElement>();
        var get = await alice.GetAsync(created.Headers.Location);

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal($"/accounts/{account.GetProperty("id").GetInt64()}", created.Headers.Location!.OriginalString);
        Assert.Equal("andrew", account.GetProperty("owner").GetString());
        Assert.Equal(0, account.GetProperty("balance").GetInt64());
        Assert.Equal(0, account.GetProperty("lastEntry").GetInt64());
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal("\"0\"", get.Headers.ETag!.Tag);
        Assert.False(get.Headers.ETag.IsWeak);
    }

    [Fact]
    public async Task EveryWrite_RequiresAnIdempotencyKey()
    {
        var alice = Client("alice-token");
        var id = await OpenAccountAsync(alice);

        foreach (var (path, body) in new (string, object)[]
                 {
                     ("/accounts", new { owner = "x" }),
                     ($"/accounts/{id}/deposits", new { amount = 1 }),
                     ($"/accounts/{id}/withdrawals", new { amount = 1 }),
                     ("/transfers", new { from = id, to = id, amount = 1 }),
                 })
        {
            var response = await SendAsync(alice, HttpMethod.Post, path, body, key: null);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        }
    }

    [Fact]
    public async Task RetriedDeposit_IsAppliedOnce_AndReplayedByteForByte()
    {
        var alice = Client("alice-token");
        var id = await OpenAccountAsync(alice);
        var key = NewKey();

        var first = await SendAsync(alice, HttpMethod.Post, $"/accounts/{id}/deposits", new { amount = 10_000 }, key);
        var retry = await SendAsync(alice, HttpMethod.Post, $"/accounts/{id}/deposits", new { amount = 10_000 }, key);
        var account = await alice.GetFromJsonAsync<JsonElement>($"/accounts/{id}");

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(await first.Content.ReadAsStringAsync(), await retry.Content.ReadAsStringAsync());
        Assert.Equal("true", retry.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(10_000, account.GetProperty("balance").GetInt64());
        Assert.Equal(1, account.GetProperty("lastEntry").GetInt64());
        var posting = await first.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal((id, 1L, 10_000L, 10_000L), (posting.GetProperty("account").GetInt64(), posting.GetProperty("entry").GetInt64(), posting.GetProperty("amount").GetInt64(), posting.GetProperty("balance").GetInt64()));
    }

    [Fact]
    public async Task Withdrawal_RecordsANegativeEntry_AndInsufficientFundsIsAStoredDeterministicOutcome()
    {
        var alice = Client("alice-token");
        var id = await OpenAccountAsync(alice);
        await SendAsync(alice, HttpMethod.Post, $"/accounts/{id}/deposits", new { amount = 5_000 }, NewKey());
        var tooMuch = NewKey();

        var withdrawal = await SendAsync(alice, HttpMethod.Post, $"/accounts/{id}/withdrawals", new { amount = 2_000 }, NewKey());
        var refused = await SendAsync(alice, HttpMethod.Post, $"/accounts/{id}/withdrawals", new { amount = 9_000 }, tooMuch);
        await SendAsync(alice, HttpMethod.Post, $"/accounts/{id}/deposits", new { amount = 50_000 }, NewKey());
        var refusedAgain = await SendAsync(alice, HttpMethod.Post, $"/accounts/{id}/withdrawals", new { amount = 9_000 }, tooMuch);
        var entries = await alice.GetFromJsonAsync<JsonElement[]>($"/accounts/{id}/entries");

        Assert.Equal(-2_000, (await withdrawal.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("amount").GetInt64());
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        var problem = await refused.Content.ReadFromJsonAsync<JsonElement>();
        Assert.EndsWith("insufficient-funds", problem.GetProperty("type").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Conflict, refusedAgain.StatusCode); // the retry replays the refusal, even though funds now suffice
        Assert.True(refusedAgain.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal([5_000L, -2_000L, 50_000L], entries!.Select(e => e.GetProperty("amount").GetInt64()).ToArray());
        Assert.Equal([5_000L, 3_000L, 53_000L], entries!.Select(e => e.GetProperty("balance").GetInt64()).ToArray());
        Assert.Equal([1L, 2L, 3L], entries!.Select(e => e.GetProperty("entry").GetInt64()).ToArray());
    }

    [Fact]
    public async Task ConcurrentWithdrawalsWithDifferentKeys_NeverOverdrawTheAccount()
    {
        // Each request is a different operation (its own key), so deduplication cannot help: only the ledger's
        // compare-and-append (or lock) stops two withdrawals that each see enough funds from both being applied.
        var alice = Client("alice-token");
        var id = await OpenAccountAsync(alice);
        await SendAsync(alice, HttpMethod.Post, $"/accounts/{id}/deposits", new { amount = 10_000 }, NewKey());

        var responses = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ =>
            SendAsync(alice, HttpMethod.Post, $"/accounts/{id}/withdrawals", new { amount = 3_000 }, NewKey())));
        var entries = await alice.GetFromJsonAsync<JsonElement[]>($"/accounts/{id}/entries");

        Assert.Equal(3, responses.Count(r => r.StatusCode == HttpStatusCode.Created));
        Assert.Equal(13, responses.Count(r => r.StatusCode == HttpStatusCode.Conflict));
        Assert.Equal([10_000L, 7_000L, 4_000L, 1_000L], entries!.Select(e => e.GetProperty("balance").GetInt64()).ToArray());
    }

    [Fact]
    public async Task ABalanceNearTheLimit_RefusesPostingsThatWouldWrapItAround_WithAProblem()
    {
        // MaxAmount keeps one posting small, but enough of them add up: 9,223 deposits of MaxAmount reach
        // long.MaxValue, and the next one would wrap the balance around to a large negative number.
        var alice = Client("alice-token");
        var id = await OpenAccountAsync(alice);
        var other = await OpenAccountAsync(alice);
        await SendAsync(alice, HttpMethod.Post, $"/accounts/{other}/deposits", new { amount = LedgerEndpoints.MaxAmount }, NewKey());
        using (var scope = factory.Services.CreateScope())
        {
            var ledger = scope.ServiceProvider.GetRequiredService<ILedger>();
            for (var i = 0; i < long.MaxValue / LedgerEndpoints.MaxAmount; i++)
            {
                var seeded = await ledger.PostAsync("alice", id, LedgerEndpoints.MaxAmount, CancellationToken.None);
                Assert.Equal(LedgerError.None, seeded.Error);
            }
        }

        var before = await alice.GetFromJsonAsync<JsonElement>($"/accounts/{id}");
        var deposit = await SendAsync(alice, HttpMethod.Post, $"/accounts/{id}/deposits", new { amount = LedgerEndpoints.MaxAmount }, NewKey());
        var transfer = await SendAsync(alice, HttpMethod.Post, "/transfers", new { from = other, to = id, amount = LedgerEndpoints.MaxAmount }, NewKey());
        var entry = new HttpRequestMessage(HttpMethod.Post, $"/accounts/{id}/entries") { Content = JsonContent.Create(new { amount = LedgerEndpoints.MaxAmount }) };
        entry.Headers.TryAddWithoutValidation("If-Match", $"\"{before.GetProperty("lastEntry").GetInt64()}\"");
        var appended = await alice.SendAsync(entry);
        var after = await alice.GetFromJsonAsync<JsonElement>($"/accounts/{id}");
        var source = await alice.GetFromJsonAsync<JsonElement>($"/accounts/{other}");

        foreach (var refused in new[] { deposit, transfer, appended })
        {
            Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
            Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
            var problem = await refused.Content.ReadFromJsonAsync<JsonElement>();
            Assert.EndsWith("balance-limit", problem.GetProperty("type").GetString(), StringComparison.Ordinal);
        }

        Assert.True(after.GetProperty("balance").GetInt64() > 0);
        Assert.Equal(before.GetProperty("balance").GetInt64(), after.GetProperty("balance").GetInt64());
        Assert.Equal(before.GetProperty("lastEntry").GetInt64(), after.GetProperty("lastEntry").GetInt64());
        Assert.Equal(LedgerEndpoints.MaxAmount, source.GetProperty("balance").GetInt64()); // the transfer took nothing
    }

    [Fact]
    public async Task Transfer_MovesMoneyOnce_EvenWhenRetried()
    {
        var alice = Client("alice-token");
        var bob = Client("bob-token");
        var from = await OpenAccountAsync(alice);
        var to = await OpenAccountAsync(bob);
        await SendAsync(alice, HttpMethod.Post, $"/accounts/{from}/deposits", new { amount = 10_000 }, NewKey());
        var key = NewKey();

        var transfer = await SendAsync(alice, HttpMethod.Post, "/transfers", new { from, to, amount = 4_000 }, key);
        await SendAsync(alice, HttpMethod.Post, "/transfers", new { from, to, amount = 4_000 }, key);
        var body = await transfer.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.Created, transfer.StatusCode);
        Assert.Equal((from, to, 4_000L), (body.GetProperty("from").GetInt64(), body.GetProperty("to").GetInt64(), body.GetProperty("amount").GetInt64()));
        Assert.True(body.GetProperty("id").GetInt64() > 0);
        Assert.Equal(6_000, (await alice.GetFromJsonAsync<JsonElement>($"/accounts/{from}")).GetProperty("balance").GetInt64());
        Assert.Equal(4_000, (await bob.GetFromJsonAsync<JsonElement>($"/accounts/{to}")).GetProperty("balance").GetInt64());
    }

    [Fact]
    public async Task Transfer_RetriedWithANewSentAt_IsReplayed_ByThePaymentsPolicy()
    {
        var alice = Client("alice-token");
        var from = await OpenAccountAsync(alice);
        var to = await OpenAccountAsync(alice);
        await SendAsync(alice, HttpMethod.Post, $"/accounts/{from}/deposits", new { amount = 10_000 }, NewKey());
        var key = NewKey();

        var transfer = await SendAsync(alice, HttpMethod.Post, "/transfers", new { from, to, amount = 1_000, sentAt = "2026-01-01T00:00:00Z" }, key);
        var retry = await SendAsync(alice, HttpMethod.Post, "/transfers", new { from, to, amount = 1_000, sentAt = "2026-01-01T00:00:07Z" }, key);
        var otherAmount = await SendAsync(alice, HttpMethod.Post, "/transfers", new { from, to, amount = 2_000, sentAt = "2026-01-01T00:00:09Z" }, key);

        Assert.Equal(HttpStatusCode.Created, transfer.StatusCode);
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, otherAmount.StatusCode);
        Assert.Equal(9_000, (await alice.GetFromJsonAsync<JsonElement>($"/accounts/{from}")).GetProperty("balance").GetInt64());
    }

    [Fact]
    public async Task AUser_SeesOnlyTheirOwnAccounts()
    {
        var alice = Client("alice-token");
        var bob = Client("bob-token");
        var id = await OpenAccountAsync(alice);

        Assert.Equal(HttpStatusCode.NotFound, (await bob.GetAsync(new Uri($"/accounts/{id}", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await bob.GetAsync(new Uri($"/accounts/{id}/entries", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(bob, HttpMethod.Post, $"/accounts/{id}/withdrawals", new { amount = 1 }, NewKey())).StatusCode);
    }

    [Fact]
    public async Task SameKeyFromAnotherUser_NeverReplaysTheFirstUsersResponse()
    {
        var alice = Client("alice-token");
        var bob = Client("bob-token");
        var key = NewKey();

        var aliceAccount = await SendAsync(alice, HttpMethod.Post, "/accounts", new { owner = "andrew" }, key);
        var bobAccount = await SendAsync(bob, HttpMethod.Post, "/accounts", new { owner = "andrew" }, key);

        Assert.False(bobAccount.Headers.Contains("Idempotent-Replayed"));
        Assert.NotEqual(aliceAccount.Headers.Location, bobAccount.Headers.Location);
    }

    [Theory]
    [InlineData("{\"amount\":0}")]
    [InlineData("{\"amount\":-5}")]
    [InlineData("{}")]
    public async Task InvalidAmount_Gets400Problem(string body)
    {
        var alice = Client("alice-token");
        var id = await OpenAccountAsync(alice);
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/accounts/{id}/deposits") { Content = new StringContent(body, MediaTypeHeaderValue.Parse("application/json")) };
        request.Headers.Add("Idempotency-Key", NewKey());

        var response = await alice.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
    }

    [Theory]
    [InlineData("/deposits", "{\"amount\":")]
    [InlineData("/deposits", "{\"amount\":\"ten\"}")]
    [InlineData("/deposits", "{\"amount\":99999999999999999999}")]
    [InlineData("/deposits", "{\"amount\":1.5}")]
    [InlineData("/withdrawals", "not json")]
    [InlineData("/entries", "{\"amount\":-1e30}")]
    public async Task MalformedJson_Gets400Problem_AndAppliesNothing(string endpoint, string body)
    {
        var alice = Client("alice-token");
        var id = await OpenAccountAsync(alice);
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/accounts/{id}{endpoint}") { Content = new StringContent(body, MediaTypeHeaderValue.Parse("application/json")) };
        request.Headers.Add("Idempotency-Key", NewKey());
        request.Headers.TryAddWithoutValidation("If-Match", "\"0\"");

        var response = await alice.SendAsync(request);
        var account = await alice.GetFromJsonAsync<JsonElement>($"/accounts/{id}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(0, account.GetProperty("lastEntry").GetInt64());
    }

    [Theory]
    [InlineData("application/json; charset=bogus")]
    [InlineData("application/json; charset=")]
    [InlineData("application/json; charset=utf-16")]
    [InlineData("application/json; charset=latin1")]
    public async Task Writes_Return415_AndApplyNothing_WhenTheJsonCharsetIsNotUtf8(string contentType)
    {
        var alice = Client("alice-token");
        var id = await OpenAccountAsync(alice);

        var response = await SendRawAsync(alice, $"/accounts/{id}/deposits", "{\"amount\":500}", contentType, NewKey());
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Equal("https://bankledger.example/problems/unsupported-charset", problem.GetProperty("type").GetString());
        Assert.Equal(0, await BalanceAsync(alice, id));
    }

    [Theory]
    [InlineData("application/json; charset=\"utf-8\"")] // a quoted parameter value, as HTTP allows
    [InlineData("application/json; charset=UTF-8")]
    [InlineData("application/json;charset=utf-8")]
    [InlineData("application/json")]
    public async Task Writes_AcceptJsonInUtf8_HoweverTheCharsetIsSpelled(string contentType)
    {
        var alice = Client("alice-token");
        var id = await OpenAccountAsync(alice);

        var response = await SendRawAsync(alice, $"/accounts/{id}/deposits", "{\"amount\":500}", contentType, NewKey());

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(500, await BalanceAsync(alice, id));
    }

    [Theory]
    [InlineData("{\"owner\":\"an\\u0000drew\"}")] // PostgreSQL text cannot hold U+0000
    [InlineData("{\"owner\":\"\\u001b[31mandrew\"}")]
    [InlineData("{\"owner\":\"andrew\\n\"}")]
    [InlineData("{\"owner\":\"" + "oooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooo" + "oooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooo" + "o\"}")] // 201 characters
    public async Task OpenAccount_Returns400_AndOpensNothing_WhenTheOwnerIsNotAPrintableNameOfAtMost200Characters(string body)
    {
        var alice = Client("alice-token");

        var response = await SendRawAsync(alice, "/accounts", body, "application/json", NewKey());
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("https://bankledger.example/problems/invalid-request", problem.GetProperty("type").GetString());
    }

    [Fact]
    public async Task OpenAccount_AcceptsANameWithAccentsAndSpaces()
    {
        var alice = Client("alice-token");

        var response = await SendAsync(alice, HttpMethod.Post, "/accounts", new { owner = "Zoë O'Brien-Ñúñez" }, NewKey());

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Theory]
    [InlineData("deposits", "{\"amount\":1000000000000001}")]
    [InlineData("withdrawals", "{\"amount\":1000000000000001}")]
    [InlineData("deposits", "{\"amount\":9223372036854775807}")]
    [InlineData("entries", "{\"amount\":-9223372036854775808}")]
    [InlineData("entries", "{\"amount\":1000000000000001}")]
    public async Task Postings_Return400_AndApplyNothing_WhenTheAmountIsOverTheLedgersLimit(string endpoint, string body)
    {
        var alice = Client("alice-token");
        var id = await OpenAccountAsync(alice);
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/accounts/{id}/{endpoint}") { Content = new StringContent(body, MediaTypeHeaderValue.Parse("application/json")) };
        request.Headers.Add("Idempotency-Key", NewKey());
        request.Headers.TryAddWithoutValidation("If-Match", "\"0\"");

        var response = await alice.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(0, await BalanceAsync(alice, id));
    }

    [Fact]
    public async Task Transfer_Returns400_WhenTheAmountIsOverTheLedgersLimit()
    {
        var alice = Client("alice-token");
        var from = await OpenAccountAsync(alice);
        var to = await OpenAccountAsync(alice);

        var response = await SendAsync(alice, HttpMethod.Post, "/transfers", new { from, to, amount = 1_000_000_000_000_001 }, NewKey());

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Deposit_OfExactlyTheLedgersLimit_IsApplied()
    {
        var alice = Client("alice-token");
        var id = await OpenAccountAsync(alice);

        var response = await SendAsync(alice, HttpMethod.Post, $"/accounts/{id}/deposits", new { amount = 1_000_000_000_000_000 }, NewKey());

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(1_000_000_000_000_000, await BalanceAsync(alice, id));
    }

    private static async Task<long> BalanceAsync(HttpClient client, long id) =>
        (await client.GetFromJsonAsync<JsonElement>($"/accounts/{id}")).GetProperty("balance").GetInt64();

    // The body as UTF-8 bytes under a Content-Type written exactly as given (HttpClient would otherwise rewrite it).
    private static Task<HttpResponseMessage> SendRawAsync(HttpClient client, string path, string body, string contentType, string key)
    {
        var content = new ByteArrayContent(System.Text.Encoding.UTF8.GetBytes(body));
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        request.Headers.Add("Idempotency-Key", key);
        return client.SendAsync(request);
    }

    private HttpClient Client(string token)
    {
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    private static string NewKey() => $"\"{Guid.NewGuid()}\"";

    private static async Task<long> OpenAccountAsync(HttpClient client)
    {
        var response = await SendAsync(client, HttpMethod.Post, "/accounts", new { owner = "andrew" }, NewKey());
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
    }

    private static Task<HttpResponseMessage> SendAsync(HttpClient client, HttpMethod method, string path, object body, string? key)
    {
        var request = new HttpRequestMessage(method, path) { Content = JsonContent.Create(body) };
        if (key is not null)
        {
            request.Headers.Add("Idempotency-Key", key);
        }

        return client.SendAsync(request);
    }
}

/// <summary>The API over the in-memory ledger and key store (the default mode).</summary>
public sealed class InMemoryLedgerApiTests(WebApplicationFactory<Program> factory) : LedgerApiTests(factory), IClassFixture<WebApplicationFactory<Program>>;
