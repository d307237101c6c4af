using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using BankLedger.Ledger;
using BankLedger.Ledger.EfCore;
using BankLedger.Storage;
using BankLedger.Tests.Infrastructure;
using Dapper;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace BankLedger.Tests.StoreModes;

/// <summary>
/// The sample in postgres mode against a real cluster: the ledger lives in PostgreSQL, and keyed writes commit
/// together with their key and stored response, so instances sharing the database never apply a key twice. The
/// theories run in efcore mode too (the same tables through an EF Core context, the EF Core transactional mode).
/// </summary>
[Collection(PostgreSqlSampleCollection.Name)]
public sealed class PostgreSqlModeTests(PostgreSqlSampleFixture fixture)
{
    [Fact]
    public async Task PostgresMode_KeepsTheLedgerAndTheKeysInTheDatabase_CreatingTheTablesAtStartUp()
    {
        var connectionString = await fixture.NewDatabaseAsync();
        await using var app = SampleApp.Postgres(connectionString);
        var alice = app.Client("alice-token");

        var id = await OpenAccountAsync(alice);
        var deposit = await SendAsync(alice, $"/accounts/{id}/deposits", new { amount = 2_500 }, NewKey());
        using var scope = app.Services.CreateScope();

        Assert.Equal(HttpStatusCode.Created, deposit.StatusCode);
        Assert.Equal(LedgerStoreMode.Postgres, app.Services.GetRequiredService<LedgerStorage>().Mode);
        Assert.IsType<PostgreSqlLedger>(scope.ServiceProvider.GetRequiredService<ILedger>());
        await using var connection = new NpgsqlConnection(connectionString);
        Assert.Equal("andrew", await connection.QuerySingleAsync<string>("SELECT owner FROM bank_accounts WHERE id = @id", new { id }));
        Assert.Equal(1, await connection.QuerySingleAsync<int>("SELECT count(*)::int FROM conditional_stream_entries WHERE stream = @stream", new { stream = $"bank-account:{id}" }));
        Assert.Equal(2, await connection.QuerySingleAsync<int>("SELECT count(*)::int FROM idempotency_records WHERE state = 2")); // the account and the deposit
    }

    [Theory]
    [InlineData("postgres")]
    [InlineData("efcore")]
    public async Task TwoInstancesOverOneDatabase_ApplyEachKeyOnce_WhenTheSameKeyedDepositsReachBothConcurrently(string mode)
    {
        const int Keys = 16;
        const int CopiesPerInstance = 2;
        var connectionString = await fixture.NewDatabaseAsync();
        await using var first = App(mode, connectionString);
        await using var second = App(mode, connectionString);
        HttpClient[] instances = [first.Client("alice-token"), second.Client("alice-token")];
        var id = await OpenAccountAsync(instances[0]);
        var keys = Enumerable.Range(0, Keys).Select(_ => NewKey()).ToArray();

        // Every key goes to both instances, twice each, all at once.
        var burst = await Task.WhenAll(
            from key in keys
            from instance in instances
            from copy in Enumerable.Range(0, CopiesPerInstance)
            select DepositAsync(instance, id, key));

        // Then one more retry of every key, now that nothing is in flight, at each instance.
        var retries = await Task.WhenAll(
            from key in keys
            from instance in instances
            select DepositAsync(instance, id, key));
        var account = await instances[1].GetFromJsonAsync<JsonElement>($"/accounts/{id}");
        var entries = await instances[0].GetFromJsonAsync<JsonElement[]>($"/accounts/{id}/entries");

        Assert.All(burst, r => Assert.Contains(r.Status, new[] { HttpStatusCode.Created, HttpStatusCode.Conflict }));
        Assert.All(burst.Where(r => r.Status == HttpStatusCode.Conflict), r => Assert.Contains("request-in-flight", r.Body, StringComparison.Ordinal));
        Assert.All(retries, r => Assert.Equal((HttpStatusCode.Created, true), (r.Status, r.Replayed)));
        foreach (var key in keys)
        {
            var all = burst.Concat(retries).Where(r => r.Key == key).ToList();
            Assert.Single(all, r => r.Status == HttpStatusCode.Created && !r.Replayed); // executed once
            Assert.Single(all.Where(r => r.Status == HttpStatusCode.Created).Select(r => r.Body).Distinct()); // every 201 is that one, byte for byte
        }

        Assert.Equal(Keys * 100, account.GetProperty("balance").GetInt64());
        Assert.Equal(Keys, account.GetProperty("lastEntry").GetInt64());
        Assert.Equal(Enumerable.Range(1, Keys).Select(n => (long)n), entries!.Select(e => e.GetProperty("entry").GetInt64()));
        Assert.Equal(Enumerable.Range(1, Keys).Select(n => n * 100L), entries!.Select(e => e.GetProperty("balance").GetInt64()));
    }

    [Theory]
    [InlineData("postgres")]
    [InlineData("efcore")]
    public async Task TwoInstancesOverOneDatabase_AppendOneEntry_WhenManyRequestsNameTheSameLastEntryWithoutAKey(string mode)
    {
        const int Requests = 16;
        var connectionString = await fixture.NewDatabaseAsync();
        await using var first = App(mode, connectionString);
        await using var second = App(mode, connectionString);
        HttpClient[] instances = [first.Client("alice-token"), second.Client("alice-token")];
        var id = await OpenAccountAsync(instances[0]);
        await SendAsync(instances[0], $"/accounts/{id}/deposits", new { amount = 10_000 }, NewKey());

        var responses = await Task.WhenAll(Enumerable.Range(0, Requests).Select(async n =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/accounts/{id}/entries") { Content = JsonContent.Create(new { amount = -1_000, memo = $"copy {n}" }) };
            request.Headers.TryAddWithoutValidation("If-Match", "\"1\"");
            var response = await instances[n % 2].SendAsync(request);
            return (response.StatusCode, ETag: response.Headers.ETag?.Tag);
        }));
        var account = await instances[1].GetFromJsonAsync<JsonElement>($"/accounts/{id}");

        Assert.Single(responses, r => r.StatusCode == HttpStatusCode.Created);
        Assert.All(responses, r => Assert.Equal("\"2\"", r.ETag));
        Assert.Equal(Requests - 1, responses.Count(r => r.StatusCode == HttpStatusCode.PreconditionFailed));
        Assert.Equal(9_000, account.GetProperty("balance").GetInt64());
        Assert.Equal(2, account.GetProperty("lastEntry").GetInt64());
    }

    [Theory]
    [InlineData("postgres")]
    [InlineData("efcore")]
    public async Task HandlerFailureAfterTheLedgerWrite_RollsTheWriteBackWithTheKey_AndTheRetryIsAppliedOnce(string mode)
    {
        var connectionString = await fixture.NewDatabaseAsync();
        await using var healthy = App(mode, connectionString);
        await using var failing = App(mode, connectionString, services =>
            services.AddScoped<ILedger>(provider => new FailingAfterPostingLedger(ModeLedger(mode, provider))));
        var alice = healthy.Client("alice-token");
        var id = await OpenAccountAsync(alice);
        var key = NewKey();

        var failed = await SendAsync(failing.Client("alice-token"), $"/accounts/{id}/deposits", new { amount = 7_000 }, key);
        var afterFailure = await alice.GetFromJsonAsync<JsonElement>($"/accounts/{id}");
        var retry = await SendAsync(alice, $"/accounts/{id}/deposits", new { amount = 7_000 }, key);
        var replay = await SendAsync(alice, $"/accounts/{id}/deposits", new { amount = 7_000 }, key);
        var afterRetry = await alice.GetFromJsonAsync<JsonElement>($"/accounts/{id}");

        Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
        Assert.Equal((0L, 0L), (afterFailure.GetProperty("balance").GetInt64(), afterFailure.GetProperty("lastEntry").GetInt64()));
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.False(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal("true", Assert.Single(replay.Headers.GetValues("Idempotent-Replayed")));
        Assert.Equal((7_000L, 1L), (afterRetry.GetProperty("balance").GetInt64(), afterRetry.GetProperty("lastEntry").GetInt64()));
    }

    [Theory]
    [InlineData("postgres")]
    [InlineData("efcore")]
    public async Task Transfers_InOppositeDirectionsAtOnce_AllComplete_AndMoneyIsConserved(string mode)
    {
        const int Transfers = 12;
        var connectionString = await fixture.NewDatabaseAsync();
        await using var first = App(mode, connectionString);
        await using var second = App(mode, connectionString);
        var alice = first.Client("alice-token");
        var aliceElsewhere = second.Client("alice-token");
        var a = await OpenAccountAsync(alice);
        var b = await OpenAccountAsync(alice);
        await SendAsync(alice, $"/accounts/{a}/deposits", new { amount = 100_000 }, NewKey());
        await SendAsync(alice, $"/accounts/{b}/deposits", new { amount = 100_000 }, NewKey());

        var responses = await Task.WhenAll(Enumerable.Range(0, Transfers).Select(n => n % 2 == 0
            ? SendAsync(alice, "/transfers", new { from = a, to = b, amount = 1_000 + n }, NewKey())
            : SendAsync(aliceElsewhere, "/transfers", new { from = b, to = a, amount = 1_000 + n }, NewKey())));
        var balanceA = (await alice.GetFromJsonAsync<JsonElement>($"/accounts/{a}")).GetProperty("balance").GetInt64();
        var balanceB = (await alice.GetFromJsonAsync<JsonElement>($"/accounts/{b}")).GetProperty("balance").GetInt64();
        var toB = Enumerable.Range(0, Transfers).Where(n => n % 2 == 0).Sum(n => 1_000L + n);
        var toA = Enumerable.Range(0, Transfers).Where(n => n % 2 == 1).Sum(n => 1_000L + n);

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.Created, r.StatusCode));
        Assert.Equal(100_000 - toB + toA, balanceA);
        Assert.Equal(100_000 + toB - toA, balanceB);
    }

    private static async Task<(string Key, HttpStatusCode Status, bool Replayed, string Body)> DepositAsync(HttpClient client, long id, string key)
    {
        var response = await SendAsync(client, $"/accounts/{id}/deposits", new { amount = 100 }, key);
        return (key, response.StatusCode, response.Headers.Contains("Idempotent-Replayed"), await response.Content.ReadAsStringAsync());
    }

    private static async Task<long> OpenAccountAsync(HttpClient client)
    {
        var response = await SendAsync(client, "/accounts", new { owner = "andrew" }, NewKey());
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
    }

    private static Task<HttpResponseMessage> SendAsync(HttpClient client, string path, object body, string key)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        request.Headers.Add("Idempotency-Key", key);
        return client.SendAsync(request);
    }

    private static string NewKey() => $"\"{Guid.NewGuid()}\"";

    private static WebApplicationFactory<Program> App(string mode, string connectionString, Action<IServiceCollection>? configureServices = null) =>
        mode == "efcore" ? SampleApp.EfCore(connectionString, configureServices) : SampleApp.Postgres(connectionString, configureServices);

    // The mode's own ledger, whose writes must roll back with the key.
    private static ILedger ModeLedger(string mode, IServiceProvider provider) =>
        mode == "efcore" ? ActivatorUtilities.CreateInstance<EfCoreLedger>(provider) : ActivatorUtilities.CreateInstance<PostgreSqlLedger>(provider);

    /// <summary>The real ledger, whose deposits and withdrawals fail after they have written their entry: a handler that crashes mid-way.</summary>
    private sealed class FailingAfterPostingLedger(ILedger inner) : ILedger
    {
        public Task<AccountView> OpenAccountAsync(string userId, string owner, CancellationToken cancellationToken) => inner.OpenAccountAsync(userId, owner, cancellationToken);

        public Task<AccountView?> GetAccountAsync(string userId, long accountId, CancellationToken cancellationToken) => inner.GetAccountAsync(userId, accountId, cancellationToken);

        public Task<IReadOnlyList<EntryView>?> GetEntriesAsync(string userId, long accountId, CancellationToken cancellationToken) => inner.GetEntriesAsync(userId, accountId, cancellationToken);

        public async Task<LedgerResult<PostingView>> PostAsync(string userId, long accountId, long amount, CancellationToken cancellationToken)
        {
            var posted = await inner.PostAsync(userId, accountId, amount, cancellationToken);
            Assert.Equal(LedgerError.None, posted.Error); // the write happened, in the request's transaction
            throw new InvalidOperationException("The handler failed after its ledger write.");
        }

        public Task<EntryAppendResult> AppendIfAsync(string userId, long accountId, Func<long, bool> lastEntryMatches, long amount, string? memo, CancellationToken cancellationToken) =>
            inner.AppendIfAsync(userId, accountId, lastEntryMatches, amount, memo, cancellationToken);

        public Task<LedgerResult<TransferView>> TransferAsync(string userId, long from, long to, long amount, CancellationToken cancellationToken) =>
            inner.TransferAsync(userId, from, to, amount, cancellationToken);
    }
}
