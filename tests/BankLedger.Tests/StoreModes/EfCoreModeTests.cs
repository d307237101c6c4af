using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using BankLedger.Ledger;
using BankLedger.Ledger.EfCore;
using BankLedger.Storage;
using BankLedger.Tests.Infrastructure;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace BankLedger.Tests.StoreModes;

/// <summary>
/// The sample in efcore mode against a real cluster: the ledger is an EF Core context over the postgres mode's tables,
/// and keyed writes run in the EF Core transactional mode, so instances sharing the database never apply a key twice.
/// </summary>
[Collection(PostgreSqlSampleCollection.Name)]
public sealed class EfCoreModeTests(PostgreSqlSampleFixture fixture)
{
    [Fact]
    public async Task EfCoreMode_KeepsTheLedgerInThePostgresModesTables_ThroughTheDbContext()
    {
        var connectionString = await fixture.NewDatabaseAsync();
        await using var app = SampleApp.EfCore(connectionString);
        var alice = app.Client("alice-token");

        var id = await OpenAccountAsync(alice);
        var deposit = await SendAsync(alice, $"/accounts/{id}/deposits", new { amount = 2_500 }, NewKey());
        using var scope = app.Services.CreateScope();

        Assert.Equal(HttpStatusCode.Created, deposit.StatusCode);
        Assert.Equal(LedgerStoreMode.EfCore, app.Services.GetRequiredService<LedgerStorage>().Mode);
        Assert.IsType<EfCoreLedger>(scope.ServiceProvider.GetRequiredService<ILedger>());
        await using var connection = new NpgsqlConnection(connectionString);
        Assert.Equal("andrew", await connection.QuerySingleAsync<string>("SELECT owner FROM bank_accounts WHERE id = @id", new { id }));
        var payload = await connection.QuerySingleAsync<byte[]>("SELECT payload FROM conditional_stream_entries WHERE stream = @stream AND sequence = 1", new { stream = $"bank-account:{id}" });
        Assert.Equal(new LedgerEntryPayload(2_500, 2_500, null), LedgerEntryPayload.FromBytes(payload)); // what the postgres mode reads
        Assert.Equal(2, await connection.QuerySingleAsync<int>("SELECT count(*)::int FROM idempotency_records WHERE state = 2")); // the account and the deposit
    }

    [Fact]
    public async Task TwoInstancesOverOneDatabase_ExecuteOnce_When64ConcurrentDuplicatesOfAKeyedDepositReachBoth()
    {
        const int Duplicates = 64;
        var connectionString = await fixture.NewDatabaseAsync();
        await using var first = SampleApp.EfCore(connectionString);
        await using var second = SampleApp.EfCore(connectionString);
        HttpClient[] instances = [first.Client("alice-token"), second.Client("alice-token")];
        var id = await OpenAccountAsync(instances[0]);
        var key = NewKey();

        var burst = await Task.WhenAll(Enumerable.Range(0, Duplicates).Select(n => DepositAsync(instances[n % 2], id, key)));
        var retries = await Task.WhenAll(instances.Select(instance => DepositAsync(instance, id, key)));
        var account = await instances[1].GetFromJsonAsync<JsonElement>($"/accounts/{id}");
        var all = burst.Concat(retries).ToList();

        Assert.All(burst, r => Assert.Contains(r.Status, new[] { HttpStatusCode.Created, HttpStatusCode.Conflict }));
        Assert.All(burst.Where(r => r.Status == HttpStatusCode.Conflict), r => Assert.Contains("request-in-flight", r.Body, StringComparison.Ordinal));
        Assert.All(retries, r => Assert.Equal((HttpStatusCode.Created, true), (r.Status, r.Replayed)));
        Assert.Single(all, r => r.Status == HttpStatusCode.Created && !r.Replayed); // executed once
        Assert.Single(all.Where(r => r.Status == HttpStatusCode.Created).Select(r => r.Body).Distinct()); // every 201 is that one, byte for byte
        Assert.Equal((100L, 1L), (account.GetProperty("balance").GetInt64(), account.GetProperty("lastEntry").GetInt64()));
    }

    [Fact]
    public async Task HandlerFailureAfterTheLedgerWrite_RollsTheEntityChangesBackWithTheKey_AndTheRetryIsAppliedOnce()
    {
        var connectionString = await fixture.NewDatabaseAsync();
        await using var healthy = SampleApp.EfCore(connectionString);
        await using var failing = SampleApp.EfCore(connectionString, services =>
            services.AddScoped<ILedger>(provider => new FailingAfterDepositLedger(ActivatorUtilities.CreateInstance<EfCoreLedger>(provider))));
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

    [Fact]
    public async Task Transfers_InOppositeDirectionsAtOnceOverTwoInstances_AllComplete_AndMoneyIsConserved()
    {
        const int Transfers = 12;
        var connectionString = await fixture.NewDatabaseAsync();
        await using var first = SampleApp.EfCore(connectionString);
        await using var second = SampleApp.EfCore(connectionString);
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

    private static async Task<(HttpStatusCode Status, bool Replayed, string Body)> DepositAsync(HttpClient client, long id, string key)
    {
        var response = await SendAsync(client, $"/accounts/{id}/deposits", new { amount = 100 }, key);
        return (response.StatusCode, response.Headers.Contains("Idempotent-Replayed"), await response.Content.ReadAsStringAsync());
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

    /// <summary>The EF Core ledger, whose deposits fail after their entry is saved in the request's transaction: a handler that crashes mid-way.</summary>
    private sealed class FailingAfterDepositLedger(ILedger inner) : ILedger
    {
        public Task<AccountView> OpenAccountAsync(string userId, string owner, CancellationToken cancellationToken) => inner.OpenAccountAsync(userId, owner, cancellationToken);

        public Task<AccountView?> GetAccountAsync(string userId, long accountId, CancellationToken cancellationToken) => inner.GetAccountAsync(userId, accountId, cancellationToken);

        public Task<IReadOnlyList<EntryView>?> GetEntriesAsync(string userId, long accountId, CancellationToken cancellationToken) => inner.GetEntriesAsync(userId, accountId, cancellationToken);

        public async Task<LedgerResult<PostingView>> PostAsync(string userId, long accountId, long amount, CancellationToken cancellationToken)
        {
            var posted = await inner.PostAsync(userId, accountId, amount, cancellationToken);
            Assert.Equal(LedgerError.None, posted.Error); // the entry is saved, in the request's transaction
            throw new InvalidOperationException("The handler failed after its ledger write.");
        }

        public Task<EntryAppendResult> AppendIfAsync(string userId, long accountId, Func<long, bool> lastEntryMatches, long amount, string? memo, CancellationToken cancellationToken) =>
            inner.AppendIfAsync(userId, accountId, lastEntryMatches, amount, memo, cancellationToken);

        public Task<LedgerResult<TransferView>> TransferAsync(string userId, long from, long to, long amount, CancellationToken cancellationToken) =>
            inner.TransferAsync(userId, from, to, amount, cancellationToken);
    }
}
