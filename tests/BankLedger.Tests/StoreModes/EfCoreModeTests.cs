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
/// What both transactional modes must hold (duplicates over two instances, a handler failing after its write, opposite
/// transfers) runs in both, in <see cref="PostgreSqlModeTests"/>; what is EF Core's own is here.
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
}
