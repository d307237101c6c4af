using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using BankLedger.Ledger;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace BankLedger.Tests;

/// <summary>
/// <c>POST /accounts/{id}/entries</c>: "as long as the last entry is 563, create entry 564", guarded by If-Match
/// instead of an Idempotency-Key, and <c>GET /accounts/{id}</c> honouring If-None-Match.
/// </summary>
/// <remarks>It runs in every store mode: the subclasses below (and in StoreModes/) supply the app.</remarks>
public abstract class ConditionalEntriesTests(WebApplicationFactory<Program> factory)
{
    private const string PreconditionProblems = "https://github.com/idempotency-dotnet/idempotency/blob/main/docs/errors.md#";

    [Fact]
    public async Task AppendEntry_CreatesEntry564WithETagAndLocation_WhenIfMatchNamesLastEntry563()
    {
        var alice = Client("alice-token");
        var id = await OpenAccountWithEntriesAsync("alice", 563);

        var response = await AppendAsync(alice, id, ifMatch: "\"563\"", amount: -10_000, memo: "rent");
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("\"564\"", response.Headers.ETag?.ToString());
        Assert.Equal($"/accounts/{id}/entries/564", response.Headers.Location?.OriginalString);
        Assert.Equal(564, body.GetProperty("entry").GetInt64());
        Assert.Equal(-10_000, body.GetProperty("amount").GetInt64());
        Assert.Equal(563 * 100 - 10_000, body.GetProperty("balance").GetInt64());
    }

    [Fact]
    public async Task AppendEntry_Location_ServesTheNewEntryWithItsMemo()
    {
        var alice = Client("alice-token");
        var id = await OpenAccountWithEntriesAsync("alice", 1);

        var created = await AppendAsync(alice, id, "\"1\"", -50, "coffee");
        var entry = await alice.GetFromJsonAsync<JsonElement>(created.Headers.Location);

        Assert.Equal(2, entry.GetProperty("entry").GetInt64());
        Assert.Equal("coffee", entry.GetProperty("memo").GetString());
    }

    [Fact]
    public async Task AppendEntry_DuplicateFailsSoftlyWith412AndTheCurrentETag_AndIsAppliedOnce()
    {
        var alice = Client("alice-token");
        var id = await OpenAccountWithEntriesAsync("alice", 563);

        var original = await AppendAsync(alice, id, "\"563\"", -10_000, "rent");
        var duplicate = await AppendAsync(alice, id, "\"563\"", -10_000, "rent");
        var account = await alice.GetFromJsonAsync<JsonElement>($"/accounts/{id}");

        Assert.Equal(HttpStatusCode.Created, original.StatusCode);
        Assert.Equal(HttpStatusCode.PreconditionFailed, duplicate.StatusCode);
        Assert.Equal("\"564\"", duplicate.Headers.ETag?.ToString());
        Assert.Equal("application/problem+json", duplicate.Content.Headers.ContentType?.MediaType);
        var problem = await duplicate.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(PreconditionProblems + "precondition-failed", problem.GetProperty("type").GetString());
        Assert.Equal(564, account.GetProperty("lastEntry").GetInt64());
        Assert.Equal(563 * 100 - 10_000, account.GetProperty("balance").GetInt64());
    }

    [Fact]
    public async Task AppendEntry_Returns412WithTheCurrentETag_AndAppendsNothing_WhenIfMatchIsStale()
    {
        var alice = Client("alice-token");
        var id = await OpenAccountWithEntriesAsync("alice", 3);

        var response = await AppendAsync(alice, id, "\"2\"", 500, null);
        var account = await alice.GetFromJsonAsync<JsonElement>($"/accounts/{id}");

        Assert.Equal(HttpStatusCode.PreconditionFailed, response.StatusCode);
        Assert.Equal("\"3\"", response.Headers.ETag?.ToString());
        Assert.Equal(3, account.GetProperty("lastEntry").GetInt64());
    }

    [Fact]
    public async Task AppendEntry_LetsExactlyOneOfConcurrentCopiesThrough()
    {
        var alice = Client("alice-token");
        var id = await OpenAccountWithEntriesAsync("alice", 563);

        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => AppendAsync(alice, id, "\"563\"", -10_000, "rent")));
        var entries = await alice.GetFromJsonAsync<JsonElement[]>($"/accounts/{id}/entries");

        Assert.Single(responses, r => r.StatusCode == HttpStatusCode.Created);
        Assert.All(responses.Where(r => r.StatusCode != HttpStatusCode.Created), r =>
        {
            Assert.Equal(HttpStatusCode.PreconditionFailed, r.StatusCode);
            Assert.Equal("\"564\"", r.Headers.ETag?.ToString());
        });
        Assert.Equal(564, entries!.Length);
    }

    [Fact]
    public async Task AppendEntry_Returns428ProblemSayingHowToResubmit_WithoutIfMatch()
    {
        var alice = Client("alice-token");
        var id = await OpenAccountWithEntriesAsync("alice", 1);

        var response = await AppendAsync(alice, id, ifMatch: null, -10_000, "rent");
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        var account = await alice.GetFromJsonAsync<JsonElement>($"/accounts/{id}");

        Assert.Equal(HttpStatusCode.PreconditionRequired, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(PreconditionProblems + "precondition-required", problem.GetProperty("type").GetString());
        Assert.Contains("If-Match", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, account.GetProperty("lastEntry").GetInt64());
    }

    [Fact]
    public async Task AppendEntry_Returns412WithTheCurrentETag_AndAppendsNothing_WhenIfMatchIsAWeakTagOfTheLastEntry()
    {
        var alice = Client("alice-token");
        var id = await OpenAccountWithEntriesAsync("alice", 2);

        // If-Match compares strongly (RFC 9110 section 13.1.1): W/"2" never matches, even while entry 2 is the last.
        var response = await AppendAsync(alice, id, "W/\"2\"", 100, null);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.PreconditionFailed, response.StatusCode);
        Assert.Equal("\"2\"", response.Headers.ETag?.ToString());
        Assert.Equal(PreconditionProblems + "precondition-failed", problem.GetProperty("type").GetString());
        Assert.Equal(2, await LastEntryAsync(alice, id));
    }

    [Theory]
    [InlineData("\"7\", \"2\"")]
    [InlineData("\"2\", \"7\"")]
    [InlineData("W/\"2\", \"2\"")]
    [InlineData("\"7\", , \"2\"")]
    public async Task AppendEntry_AppendsAfterTheCurrentEntry_WhenIfMatchListsSeveralTagsAndOneIsTheCurrentTag(string ifMatch)
    {
        var alice = Client("alice-token");
        var id = await OpenAccountWithEntriesAsync("alice", 2);

        var response = await AppendAsync(alice, id, ifMatch, -50, "coffee");
        var posting = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("\"3\"", response.Headers.ETag?.ToString());
        Assert.Equal($"/accounts/{id}/entries/3", response.Headers.Location?.OriginalString);
        Assert.Equal(3, posting.GetProperty("entry").GetInt64());
        Assert.Equal(2 * 100 - 50, posting.GetProperty("balance").GetInt64());
        Assert.Equal(3, await LastEntryAsync(alice, id));
    }

    [Fact]
    public async Task AppendEntry_AppendsTheSameListedRequestOnce_WhenCopiesArriveConcurrently()
    {
        var alice = Client("alice-token");
        var id = await OpenAccountWithEntriesAsync("alice", 2);

        // Once one copy has appended entry 3, neither listed tag is current: the condition and the append are one step.
        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => AppendAsync(alice, id, "\"1\", \"2\"", -100, "rent")));

        Assert.Single(responses, r => r.StatusCode == HttpStatusCode.Created);
        Assert.All(responses.Where(r => r.StatusCode != HttpStatusCode.Created), r =>
        {
            Assert.Equal(HttpStatusCode.PreconditionFailed, r.StatusCode);
            Assert.Equal("\"3\"", r.Headers.ETag?.ToString());
        });
        Assert.Equal(3, await LastEntryAsync(alice, id));
    }

    [Theory]
    [InlineData("\"7\", \"1\"")]
    [InlineData("W/\"2\", \"5\"")]
    [InlineData("\"02\"")] // strong comparison is character for character: "02" is not "2"
    [InlineData("\"9223372036854775807\"")]
    [InlineData("\"99999999999999999999\"")]
    [InlineData("\"abc\", \"-2\"")]
    public async Task AppendEntry_Returns412WithTheCurrentETag_AndAppendsNothing_WhenNoListedTagIsTheCurrentTag(string ifMatch)
    {
        var alice = Client("alice-token");
        var id = await OpenAccountWithEntriesAsync("alice", 2);

        var response = await AppendAsync(alice, id, ifMatch, 100, null);

        Assert.Equal(HttpStatusCode.PreconditionFailed, response.StatusCode);
        Assert.Equal("\"2\"", response.Headers.ETag?.ToString());
        Assert.Equal(2, await LastEntryAsync(alice, id));
    }

    [Fact]
    public async Task AppendEntry_AppendsAfterWhateverEntryIsLast_WhenIfMatchIsAStar()
    {
        var alice = Client("alice-token");
        var id = await OpenAccountWithEntriesAsync("alice", 2);

        // If-Match: * holds whenever a current representation exists (RFC 9110 section 13.1.1): every account has one.
        var first = await AppendAsync(alice, id, "*", 10, "tip");
        var second = await AppendAsync(alice, id, "*", 10, "tip");

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal("\"3\"", first.Headers.ETag?.ToString());
        Assert.Equal(HttpStatusCode.Created, second.StatusCode);
        Assert.Equal("\"4\"", second.Headers.ETag?.ToString());
        Assert.Equal(4, await LastEntryAsync(alice, id));
    }

    [Fact]
    public async Task AppendEntry_Returns404_WhenIfMatchIsAStarAndTheAccountIsAnotherUsers()
    {
        var id = await OpenAccountWithEntriesAsync("alice", 1);

        var response = await AppendAsync(Client("bob-token"), id, "*", 100, null);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Null(response.Headers.ETag);
    }

    [Fact]
    public async Task AppendEntry_Returns412_WhenIfMatchHoldsButIfNoneMatchNamesTheCurrentTag()
    {
        var alice = Client("alice-token");
        var id = await OpenAccountWithEntriesAsync("alice", 2);

        // RFC 9110 section 13.2.2: If-None-Match is evaluated after If-Match, and on a POST a match is 412.
        var response = await AppendAsync(alice, id, "*", 100, null, ifNoneMatch: "\"2\"");

        Assert.Equal(HttpStatusCode.PreconditionFailed, response.StatusCode);
        Assert.Equal("\"2\"", response.Headers.ETag?.ToString());
        Assert.Equal(2, await LastEntryAsync(alice, id));
    }

    [Fact]
    public async Task AppendEntry_Returns428SayingHowToResubmit_WhenOnlyIfNoneMatchIsSent()
    {
        var alice = Client("alice-token");
        var id = await OpenAccountWithEntriesAsync("alice", 1);

        var response = await AppendAsync(alice, id, null, 100, null, ifNoneMatch: "\"7\"");
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.PreconditionRequired, response.StatusCode);
        Assert.Contains($"GET /accounts/{id}", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, await LastEntryAsync(alice, id));
    }

    [Fact]
    public async Task AppendEntry_ResubmittedWithIfMatchUnderTheSameKey_After428_IsCarriedOut()
    {
        // The 428 says to send the request again with If-Match: the same operation, so the same Idempotency-Key. A stored
        // 428 would refuse that resubmission as a reuse of the key (422) for as long as the record is kept.
        var alice = Client("alice-token");
        var id = await OpenAccountWithEntriesAsync("alice", 1);
        var key = Guid.NewGuid().ToString();

        var refused = await AppendAsync(alice, id, null, 100, null, key, ifNoneMatch: "\"7\"");
        var resubmitted = await AppendAsync(alice, id, "\"1\"", 100, null, key);
        var retried = await AppendAsync(alice, id, "\"1\"", 100, null, key);

        Assert.Equal(HttpStatusCode.PreconditionRequired, refused.StatusCode);
        Assert.Equal(HttpStatusCode.Created, resubmitted.StatusCode);
        Assert.Equal(HttpStatusCode.Created, retried.StatusCode);
        Assert.True(retried.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(2, await LastEntryAsync(alice, id));
    }

    [Theory]
    [InlineData("1")] // unquoted
    [InlineData("*, \"1\"")]
    [InlineData("\"1\" \"2\"")] // no comma between the tags
    [InlineData("\"1")]
    public async Task AppendEntry_Returns400_AndAppendsNothing_WhenIfMatchIsMalformed(string ifMatch)
    {
        var alice = Client("alice-token");
        var id = await OpenAccountWithEntriesAsync("alice", 1);

        var response = await AppendAsync(alice, id, ifMatch, 100, null);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(PreconditionProblems + "precondition-malformed", problem.GetProperty("type").GetString());
        Assert.Equal(1, await LastEntryAsync(alice, id));
    }

    [Fact]
    public async Task AppendEntry_ReplaysTheOriginal201_WhenRetriedWithTheSameIdempotencyKey()
    {
        var alice = Client("alice-token");
        var id = await OpenAccountWithEntriesAsync("alice", 7);
        var key = $"\"{Guid.NewGuid()}\"";

        var original = await AppendAsync(alice, id, "\"7\"", -100, "fee", key);
        var retry = await AppendAsync(alice, id, "\"7\"", -100, "fee", key);

        Assert.Equal(HttpStatusCode.Created, original.StatusCode);
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal("\"8\"", retry.Headers.ETag?.ToString());
        Assert.Equal(await original.Content.ReadAsStringAsync(), await retry.Content.ReadAsStringAsync());
        Assert.Equal(8, (await alice.GetFromJsonAsync<JsonElement>($"/accounts/{id}")).GetProperty("lastEntry").GetInt64());
    }

    [Fact]
    public async Task AppendEntry_Returns409_WhenTheLastEntryMatchesButFundsAreShort()
    {
        var alice = Client("alice-token");
        var id = await OpenAccountWithEntriesAsync("alice", 2);

        var response = await AppendAsync(alice, id, "\"2\"", -1_000_000, null);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.EndsWith("insufficient-funds", problem.GetProperty("type").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AppendEntry_Returns412BeforeCheckingFunds_WhenADuplicateWouldOverdraw()
    {
        var alice = Client("alice-token");
        var id = await OpenAccountWithEntriesAsync("alice", 1); // balance 100

        var original = await AppendAsync(alice, id, "\"1\"", -100, "all of it");
        var duplicate = await AppendAsync(alice, id, "\"1\"", -100, "all of it");

        Assert.Equal(HttpStatusCode.Created, original.StatusCode);
        Assert.Equal(HttpStatusCode.PreconditionFailed, duplicate.StatusCode);
    }

    [Fact]
    public async Task AppendEntry_Returns404_ForAnotherUsersAccount()
    {
        var id = await OpenAccountWithEntriesAsync("alice", 1);

        var response = await AppendAsync(Client("bob-token"), id, "\"1\"", -100, null);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Null(response.Headers.ETag);
    }

    [Theory]
    [InlineData(0L, 0)] // a zero amount
    [InlineData(100L, 201)] // a memo over 200 characters
    public async Task AppendEntry_Returns400_WhenTheBodyIsInvalid(long amount, int memoLength)
    {
        var alice = Client("alice-token");
        var id = await OpenAccountWithEntriesAsync("alice", 1);
        var memo = memoLength == 0 ? null : new string('m', memoLength);

        var response = await AppendAsync(alice, id, "\"1\"", amount, memo);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(1, (await alice.GetFromJsonAsync<JsonElement>($"/accounts/{id}")).GetProperty("lastEntry").GetInt64());
    }

    [Fact]
    public async Task AppendEntry_AnswersUnauthenticatedCallersWith401_Not428()
    {
        var anonymous = factory.CreateClient();

        var response = await AppendAsync(anonymous, 1, null, 100, null);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task GetAccount_Returns304WithTheETag_WhenIfNoneMatchNamesTheLastEntry()
    {
        var alice = Client("alice-token");
        var id = await OpenAccountWithEntriesAsync("alice", 563);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/accounts/{id}");
        request.Headers.TryAddWithoutValidation("If-None-Match", "\"563\"");

        var response = await alice.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotModified, response.StatusCode);
        Assert.Equal("\"563\"", response.Headers.ETag?.ToString());
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task GetAccount_Returns200WithTheNewETag_AfterAnEntryIsAppended()
    {
        var alice = Client("alice-token");
        var id = await OpenAccountWithEntriesAsync("alice", 563);
        await AppendAsync(alice, id, "\"563\"", -10_000, "rent");
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/accounts/{id}");
        request.Headers.TryAddWithoutValidation("If-None-Match", "\"563\"");

        var response = await alice.SendAsync(request);
        var account = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("\"564\"", response.Headers.ETag?.ToString());
        Assert.Equal(564, account.GetProperty("lastEntry").GetInt64());
    }

    private HttpClient Client(string token)
    {
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    // Seeds through the ledger itself: 563 entries over HTTP would only slow the tests down. Each entry deposits 100.
    private async Task<long> OpenAccountWithEntriesAsync(string userId, int entries)
    {
        using var scope = factory.Services.CreateScope(); // the PostgreSQL ledger is a scoped service
        var ledger = scope.ServiceProvider.GetRequiredService<ILedger>();
        var account = await ledger.OpenAccountAsync(userId, "andrew", default);
        for (var entry = 0; entry < entries; entry++)
        {
            var result = await ledger.AppendIfLastAsync(userId, account.Id, entry, 100, null, default);
            Assert.Equal(LedgerError.None, result.Error);
        }

        return account.Id;
    }

    private static async Task<long> LastEntryAsync(HttpClient client, long id) =>
        (await client.GetFromJsonAsync<JsonElement>($"/accounts/{id}")).GetProperty("lastEntry").GetInt64();

    private static Task<HttpResponseMessage> AppendAsync(HttpClient client, long id, string? ifMatch, long amount, string? memo, string? key = null, string? ifNoneMatch = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/accounts/{id}/entries") { Content = JsonContent.Create(new { amount, memo }) };
        if (ifMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        }

        if (ifNoneMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-None-Match", ifNoneMatch);
        }

        if (key is not null)
        {
            request.Headers.Add("Idempotency-Key", key);
        }

        return client.SendAsync(request);
    }
}

/// <summary>The conditional entries over the in-memory ledger (the default mode).</summary>
public sealed class InMemoryConditionalEntriesTests(WebApplicationFactory<Program> factory) : ConditionalEntriesTests(factory), IClassFixture<WebApplicationFactory<Program>>;
