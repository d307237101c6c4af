using System.Net.Http.Json;
using Idempotency.Chaos.Tests.Infrastructure;
using Idempotency.Chaos.Tests.Ledger;
using Idempotency.Redis.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Idempotency.Chaos.Tests.RetryStorm;

/// <summary>
/// Thousands of debits and credits from concurrent clients, through a proxy that loses requests and answers, resets
/// connections and delays requests past the clients' timeouts, while the clients retry with the same keys.
/// </summary>
[Trait("Lane", "Full")]
public sealed class RetryStormTests(ITestOutputHelper output)
{
    private const int Operations = 2_000;
    private const int Concurrency = 16;

    // Not a timing assertion: a guard so that a stuck run fails the test instead of hanging the suite.
    private static readonly TimeSpan s_hangGuard = TimeSpan.FromMinutes(5);

    [Fact]
    public Task RetriedOperations_AreEachAppliedOnce_AndBalancesAreExact_WithTheInMemoryStore() =>
        RunKeyedStormAsync("Retry storm, in-memory store", ChaosSettings.Seed(7101), new ChaosLedgerOptions { Store = ChaosStore.Memory });

    [Fact]
    public async Task RetriedOperations_AreEachAppliedOnce_AndBalancesAreExact_WithTheRedisStore()
    {
        await using var redis = await RedisServer.StartAsync();
        await RunKeyedStormAsync("Retry storm, Redis store", ChaosSettings.Seed(7102), new ChaosLedgerOptions { Store = ChaosStore.Redis, RedisConnectionString = redis.ConnectionString() });
    }

    [Fact]
    public async Task RetriedOperations_AreEachAppliedOnce_AndBalancesAreExact_WithThePostgreSqlStore()
    {
        await using var postgreSql = await ChaosPostgreSql.StartAsync();
        await RunKeyedStormAsync("Retry storm, PostgreSQL store", ChaosSettings.Seed(7103), new ChaosLedgerOptions
        {
            Store = ChaosStore.PostgreSql,
            PostgreSqlConnectionString = postgreSql.ConnectionString(),
        });
    }

    [Fact]
    public async Task RetriedOperations_AreEachCommittedOnce_AndBalancesAreExact_InPostgreSqlTransactionalMode()
    {
        await using var postgreSql = await ChaosPostgreSql.StartAsync();
        await RunKeyedStormAsync("Retry storm, PostgreSQL transactional mode", ChaosSettings.Seed(7104), new ChaosLedgerOptions
        {
            Store = ChaosStore.PostgreSqlTransactional,
            PostgreSqlConnectionString = postgreSql.ConnectionString(),
        });
    }

    [Fact]
    public async Task WithoutKeys_TheSameFaults_ApplyOperationsTwice_AndBalancesAreWrong()
    {
        var seed = ChaosSettings.Seed(7101);
        var report = new ChaosReport(output, "Retry storm control, no keys", seed);
        var passed = false;
        try
        {
            var operations = Workload.Generate(seed, ChaosSettings.Scaled(Operations / 2));
            await using var app = await ChaosLedgerApp.StartAsync(new ChaosLedgerOptions { RequireKeys = false });
            var (result, proxy, client) = await StormAsync(app, operations, seed, withKeys: false, report);
            using (client)
            await using (proxy)
            {
                var tally = await app.TallyAsync();
                var expected = Workload.ExpectedBalances(operations);
                var actual = await BalancesAsync(app, expected.Keys);
                var repeated = operations.Count(o => tally.Of(o.Id) > 1);
                report.Add("operations applied more than once", repeated);
                report.Add("accounts with a wrong balance", expected.Count(e => actual[e.Key] != e.Value));
                report.Add("net error over all accounts (sum of |actual - expected|)", expected.Sum(e => Math.Abs(actual[e.Key] - e.Value)));

                Assert.True(result.Count(201) == operations.Count, result.Failures());
                Assert.True(LostAnswers(proxy) > 0, "The plan injected no lost answers: the control shows nothing.");

                // Without keys, every request that reached the server whole was executed, retries included.
                Assert.Equal(proxy.Forwarded, tally.Total);
                Assert.True(repeated > 0, "No operation was applied twice.");
                Assert.NotEqual(expected, actual);
                passed = true;
            }
        }
        finally
        {
            report.Flush(passed);
        }
    }

    private async Task RunKeyedStormAsync(string title, int seed, ChaosLedgerOptions options)
    {
        var report = new ChaosReport(output, title, seed);
        var passed = false;
        try
        {
            var operations = Workload.Generate(seed, ChaosSettings.Scaled(Operations));
            await using var app = await ChaosLedgerApp.StartAsync(options);
            var (result, proxy, client) = await StormAsync(app, operations, seed, withKeys: true, report);
            using (client)
            await using (proxy)
            {
                var tally = await app.TallyAsync();
                var expected = Workload.ExpectedBalances(operations);
                var actual = await BalancesAsync(app, expected.Keys);
                var notOnce = operations.Where(o => tally.Of(o.Id) != 1).Select(o => $"{o.Id}: applied {tally.Of(o.Id)} times").ToList();
                report.Add("effects applied", tally.Total);
                report.Add("operations not applied exactly once", notOnce.Count);
                report.Add("accounts with a wrong balance", expected.Count(e => actual[e.Key] != e.Value));

                Assert.True(result.Count(201) == operations.Count, result.Failures());
                Assert.True(LostAnswers(proxy) > 0, "The plan injected no lost answers: the run proves nothing.");
                Assert.Empty(notOnce.Take(20));
                Assert.Equal(0, tally.WithoutKey);
                Assert.Equal(operations.Count, tally.Total);
                Assert.Equal(expected, actual);
                passed = true;
            }
        }
        finally
        {
            report.Flush(passed);
        }
    }

    private static async Task<(WorkloadResult Result, FaultInjectingProxy Proxy, LedgerClient Client)> StormAsync(
        ChaosLedgerApp app, IReadOnlyList<LedgerOperation> operations, int seed, bool withKeys, ChaosReport report)
    {
        var proxy = new FaultInjectingProxy(app.BaseAddress, new FaultPlan(seed), ChaosLedgerApp.OperationHeader);
        proxy.Start();
        var client = LedgerClient.Create(proxy.BaseAddress, withKeys, new RetryShape());
        try
        {
            var result = await Workload.RunAsync(client.Http, operations, Concurrency).WaitAsync(s_hangGuard);
            await proxy.DrainAsync(s_hangGuard); // delayed requests still on their way reach the server before balances are read

            report.Add("operations", operations.Count);
            report.Add("concurrent clients", Concurrency);
            report.Add("attempts sent by clients", client.Attempts.Attempts);
            report.Add("attempt outcomes", client.Attempts.Summary);
            report.Add("answers replayed (Idempotent-Replayed)", client.Attempts.Replays);
            report.Add("connections through the proxy", proxy.Connections);
            report.Add("faults injected", string.Join(", ", Enum.GetValues<FaultKind>().Where(k => k != FaultKind.None).Select(k => $"{k}: {proxy.Count(k)}")));
            report.Add("requests that reached the server", proxy.Forwarded);
            report.Add("handler runs", app.HandlerRuns);
            report.Add("middleware outcomes (idempotency.requests)", app.Outcomes);
            report.Add("operations ending 201", result.Count(201));
            report.Add("elapsed (s)", Math.Round(result.Elapsed.TotalSeconds, 1));
            return (result, proxy, client);
        }
        catch
        {
            client.Dispose();
            await proxy.DisposeAsync();
            throw;
        }
    }

    private static int LostAnswers(FaultInjectingProxy proxy) =>
        proxy.Count(FaultKind.DropResponse) + proxy.Count(FaultKind.ResetAfterResponse) + proxy.Count(FaultKind.TruncateResponse);

    private static async Task<Dictionary<string, long>> BalancesAsync(ChaosLedgerApp app, IEnumerable<string> accounts)
    {
        // Straight to the service, not through the proxy.
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = app.BaseAddress };
        var balances = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var account in accounts)
        {
            var view = await http.GetFromJsonAsync<ChaosLedgerApp.BalanceView>($"accounts/{account}");
            balances[account] = view!.Balance;
        }

        return balances;
    }
}
