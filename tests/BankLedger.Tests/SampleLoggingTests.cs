using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using BankLedger.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace BankLedger.Tests;

/// <summary>
/// What the sample writes to its logs: owner names, memos, amounts and user ids are personal data, kept to Debug, so a
/// log aggregator that collects Information and above never receives them.
/// </summary>
public sealed class SampleLoggingTests
{
    private const string Owner = "Zebediah Quartermaine";
    private const string UserId = "user-zq-7781";
    private const string Memo = "rent-for-flat-9b";
    private const long Amount = 4_242_421;

    [Fact]
    public async Task EveryLedgerOperation_LogsNoOwnerMemoAmountOrUserId_AtInformationOrAbove()
    {
        await using var app = SampleApp.Create(new()
        {
            ["Auth:Tokens:zq-token"] = UserId,
            ["Logging:LogLevel:Default"] = "Information",
            ["Logging:LogLevel:Microsoft.AspNetCore"] = "Information",
            ["Logging:LogLevel:BankLedger"] = "Debug", // the sample's own events, to prove they ran (and where their details go)
        }, services => services.AddLogging(logging => logging.AddFakeLogging()));
        var client = app.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "zq-token");

        var first = await OpenAsync(client);
        var second = await OpenAsync(client);
        Assert.Equal(HttpStatusCode.Created, (await SendAsync(client, $"/accounts/{first}/deposits", new { amount = Amount }, key: true)).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await SendAsync(client, $"/accounts/{first}/withdrawals", new { amount = Amount * 3 }, key: true)).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await SendAsync(client, "/transfers", new { from = first, to = second, amount = Amount }, key: true)).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await SendAsync(client, $"/accounts/{second}/entries", new { amount = -Amount, memo = Memo }, ifMatch: "\"1\"")).StatusCode);
        Assert.Equal(HttpStatusCode.PreconditionFailed, (await SendAsync(client, $"/accounts/{second}/entries", new { amount = -Amount, memo = Memo }, ifMatch: "\"1\"")).StatusCode);
        var records = app.Services.GetFakeLogCollector().GetSnapshot();

        var leaks = records
            .Where(r => r.Level >= LogLevel.Information)
            .Where(r => new[] { Owner, UserId, Memo, Amount.ToString(System.Globalization.CultureInfo.InvariantCulture) }.Any(data => Text(r).Contains(data, StringComparison.Ordinal)))
            .Select(r => $"{r.Level} {r.Category} {r.Id}: {r.Message}")
            .ToList();
        Assert.True(leaks.Count == 0, "Personal data logged at Information or above:" + Environment.NewLine + string.Join(Environment.NewLine, leaks));

        // The sample's events ran, at Debug, with the details an operator debugging one request needs.
        var sample = records.Where(r => r.Category == "BankLedger.Ledger.ILedger").ToList();
        Assert.Equal(
            ["AccountOpened", "AccountOpened", "EntryPosted", "WithdrawalRefused", "TransferMade", "EntryAppended", "EntryRefused"],
            sample.Select(r => r.Id.Name));
        Assert.All(sample, r => Assert.Equal(LogLevel.Debug, r.Level));
        Assert.Contains(sample, r => r.Message.Contains(Owner, StringComparison.Ordinal));
    }

    // The message and every structured value: a scope or a property can leak as well as the text.
    private static string Text(FakeLogRecord record) =>
        record.Message + " " + string.Join(" ", record.StructuredState?.Select(p => p.Value) ?? []) + " " + string.Join(" ", record.Scopes.Select(s => s?.ToString()));

    private static async Task<long> OpenAsync(HttpClient client)
    {
        var response = await SendAsync(client, "/accounts", new { owner = Owner }, key: true);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
    }

    private static Task<HttpResponseMessage> SendAsync(HttpClient client, string path, object body, bool key = false, string? ifMatch = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        if (key)
        {
            request.Headers.Add("Idempotency-Key", $"\"{Guid.NewGuid()}\"");
        }

        if (ifMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        }

        return client.SendAsync(request);
    }
}
