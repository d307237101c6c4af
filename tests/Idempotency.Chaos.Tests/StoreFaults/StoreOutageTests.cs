using System.Diagnostics;
using System.Net.Http.Json;
using Idempotency.Chaos.Tests.Infrastructure;
using Idempotency.Chaos.Tests.Ledger;
using Idempotency.Redis.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Idempotency.Chaos.Tests.StoreFaults;

/// <summary>
/// The store is killed under load and started again on the same port, twice, while the service keeps running and its
/// clients keep retrying. Nothing may run without a claimed key meanwhile, and the service must recover by itself.
/// Where answers can also be lost on the way back (the fault-injecting proxy), a store that keeps its records apart from
/// the effect can repeat an effect; those runs measure how often instead of asserting exactly once.
/// </summary>
[Trait("Lane", "Full")]
public sealed class StoreOutageTests(ITestOutputHelper output)
{
    private const int Operations = 800;
    private const int Outages = 2;
    private const int Concurrency = 8;

    // Not a timing assertion: a guard so that a stuck run fails the test instead of hanging the suite.
    private static readonly TimeSpan s_hangGuard = TimeSpan.FromMinutes(5);

    [Fact]
    public async Task RedisKilledAndRestartedUnderLoad_NoRequestRunsUnprotected_AndTheServiceRecoversByItself()
    {
        // appendfsync always, as a deployment that relies on Redis for idempotency should run it; short client timeouts so
        // that calls to a dead Redis fail fast (503) instead of queueing.
        await using var redis = await RedisServer.StartAsync("--appendonly", "yes", "--appendfsync", "always");
        await RunAsync(
            "Store faults, Redis killed and restarted",
            ChaosSettings.Seed(7301),
            new ChaosLedgerOptions
            {
                Store = ChaosStore.Redis,
                RedisConnectionString = redis.ConnectionString("connectTimeout=500,asyncTimeout=1000,syncTimeout=1000,connectRetry=1"),
                LeaseDuration = TimeSpan.FromSeconds(3),
            },
            redis.StopAsync,
            redis.RestartAsync);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task RedisKilledUnderLoad_WithAnswersAlsoLost_NoRequestRunsUnprotected_AndRepeatsAreCounted(bool appendOnly)
    {
        // With AOF (appendfsync always) only a request that ran while Redis died before its completion can repeat, when its
        // answer is lost too; without persistence Redis forgets every record, so any retry of an answered request runs again.
        await using var redis = appendOnly
            ? await RedisServer.StartAsync("--appendonly", "yes", "--appendfsync", "always")
            : await RedisServer.StartAsync();
        await RunAsync(
            $"Store faults, Redis killed and restarted, answers lost too, {(appendOnly ? "AOF appendfsync always" : "no persistence")}",
            ChaosSettings.Seed(appendOnly ? 7304 : 7305),
            new ChaosLedgerOptions
            {
                Store = ChaosStore.Redis,
                RedisConnectionString = redis.ConnectionString("connectTimeout=500,asyncTimeout=1000,syncTimeout=1000,connectRetry=1"),
                LeaseDuration = TimeSpan.FromSeconds(3),
            },
            redis.StopAsync,
            redis.RestartAsync,
            lossyNetwork: true);
    }

    [Fact]
    public async Task PostgreSqlKilledAndRestartedUnderLoad_NoRequestRunsUnprotected_AndTheServiceRecoversByItself()
    {
        await using var postgreSql = await ChaosPostgreSql.StartAsync();
        await RunAsync(
            "Store faults, PostgreSQL store, server killed and restarted",
            ChaosSettings.Seed(7302),
            new ChaosLedgerOptions
            {
                Store = ChaosStore.PostgreSql,
                PostgreSqlConnectionString = postgreSql.ConnectionString(timeoutSeconds: 5),
                LeaseDuration = TimeSpan.FromSeconds(3),
            },
            postgreSql.Server.StopAsync,
            postgreSql.Server.StartAsync);
    }

    [Fact]
    public async Task PostgreSqlKilledAndRestartedUnderLoad_WithAnswersAlsoLost_InTransactionalMode_CommitsEveryOperationOnce()
    {
        await using var postgreSql = await ChaosPostgreSql.StartAsync();
        await RunAsync(
            "Store faults, PostgreSQL transactional mode, server killed and restarted, answers lost too",
            ChaosSettings.Seed(7303),
            new ChaosLedgerOptions
            {
                Store = ChaosStore.PostgreSqlTransactional,
                PostgreSqlConnectionString = postgreSql.ConnectionString(timeoutSeconds: 5),
                LeaseDuration = TimeSpan.FromSeconds(3),
            },
            postgreSql.Server.StopAsync,
            postgreSql.Server.StartAsync,
            lossyNetwork: true,
            exactlyOnce: true);
    }

    // lossyNetwork: the clients go through the fault-injecting proxy (requests and answers lost, resets, delays).
    // exactlyOnce: every operation must be applied exactly once; otherwise at least once, and repeats are counted. The
    // default is exactly once when answers are never lost: then a client never retries a request that ran.
    private async Task RunAsync(
        string title, int seed, ChaosLedgerOptions options, Func<Task> stopStore, Func<Task> startStore, bool lossyNetwork = false, bool? exactlyOnce = null)
    {
        var mustBeExactlyOnce = exactlyOnce ?? !lossyNetwork;
        var report = new ChaosReport(output, title, seed);
        var passed = false;
        try
        {
            var random = new Random(seed);
            var operations = Workload.Generate(seed, ChaosSettings.Scaled(Operations));
            var outages = ChaosSettings.Scaled(Outages);
            await using var app = await ChaosLedgerApp.StartAsync(options);
            await using var proxy = new FaultInjectingProxy(app.BaseAddress, new FaultPlan(seed), ChaosLedgerApp.OperationHeader);
            proxy.Start();
            using var client = LedgerClient.Create(lossyNetwork ? proxy.BaseAddress : app.BaseAddress, withKeys: true, new RetryShape
            {
                MaxAttempts = 1_000,
                AttemptTimeout = TimeSpan.FromSeconds(10),
                TotalTimeout = TimeSpan.FromMinutes(3),
                MaxBackoff = TimeSpan.FromMilliseconds(250),
            });

            var clock = Stopwatch.StartNew();
            var completions = new List<TimeSpan>();
            var load = Workload.RunAsync(client.Http, operations, Concurrency, () =>
            {
                lock (completions)
                {
                    completions.Add(clock.Elapsed);
                }
            });

            var restarts = new List<TimeSpan>();
            var spacing = operations.Count / (outages + 1);
            for (var k = 1; k <= outages; k++)
            {
                var target = (k * spacing) + random.Next(-spacing / 4, (spacing / 4) + 1);
                while (Completed(completions) < target && !load.IsCompleted)
                {
                    await Task.Delay(2);
                }

                Assert.False(load.IsCompleted, "The load finished before every outage happened.");
                var down = TimeSpan.FromMilliseconds(random.Next(1_000, 2_500));
                await stopStore();
                await Task.Delay(down);
                await startStore();
                restarts.Add(clock.Elapsed);
                report.Add($"outage {k}", $"after {target} operations, store down {down.TotalSeconds:F1} s (plus its restart)");
            }

            var result = await load.WaitAsync(s_hangGuard);
            await proxy.DrainAsync(s_hangGuard);
            var tally = await app.TallyAsync();
            var notOnce = operations.Where(o => tally.Of(o.Id) != 1).Select(o => $"{o.Id}: applied {tally.Of(o.Id)} times").ToList();
            var never = operations.Where(o => tally.Of(o.Id) == 0).Select(o => o.Id).ToList();
            var completedAfterLastRestart = completions.Count(c => c > restarts[^1]);
            var expected = Workload.ExpectedBalances(operations);
            using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = app.BaseAddress };
            var actual = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var account in expected.Keys)
            {
                actual[account] = (await http.GetFromJsonAsync<ChaosLedgerApp.BalanceView>($"accounts/{account}"))!.Balance;
            }

            report.Add("operations", operations.Count);
            report.Add("concurrent clients", Concurrency);
            report.Add("attempts sent by clients", client.Attempts.Attempts);
            report.Add("attempt outcomes", client.Attempts.Summary);
            if (lossyNetwork)
            {
                report.Add("faults injected by the proxy", string.Join(", ", Enum.GetValues<FaultKind>().Where(k => k != FaultKind.None).Select(k => $"{k}: {proxy.Count(k)}")));
            }

            report.Add("middleware outcomes (idempotency.requests)", app.Outcomes);
            report.Add("handler runs", app.HandlerRuns);
            report.Add("effects applied (committed)", tally.Total);
            report.Add("effects applied without a claimed key", tally.WithoutKey);
            report.Add("operations applied more than once", operations.Count(o => tally.Of(o.Id) > 1));
            report.Add("operations ending 201", result.Count(201));
            report.Add("operations completed after the last restart", completedAfterLastRestart);
            for (var k = 0; k < restarts.Count; k++)
            {
                var next = completions.Where(c => c > restarts[k]).DefaultIfEmpty(TimeSpan.MaxValue).Min();
                report.Add($"restart {k + 1}: first operation completed after (s)", next == TimeSpan.MaxValue ? "never" : $"{(next - restarts[k]).TotalSeconds:F2}");
            }

            report.Add("completions sent again by the store (events 3113, 3003)", app.CompletionsSentAgain);
            report.Add("elapsed (s)", Math.Round(result.Elapsed.TotalSeconds, 1));

            Assert.True(result.Count(201) == operations.Count, result.Failures());
            // Felt as 503s by requests that claimed while the store was down, or as completions sent again by requests whose
            // work had run: those wait for the store (until their lease ends) instead of failing, so when every request
            // in flight met the outage after its claim, no client sees a 503 at all.
            Assert.True(
                client.Attempts.Status(503) > 0 || app.CompletionsSentAgain > 0,
                "No request was refused with 503 and no completion was sent again: the outages were not felt.");

            // While the store was down requests were refused, never run unprotected: every effect ran under a claimed key,
            // and every operation that was answered 201 was applied.
            Assert.Equal(0, tally.WithoutKey);
            Assert.Empty(never);
            if (mustBeExactlyOnce)
            {
                Assert.Empty(notOnce.Take(20));
                Assert.Equal(operations.Count, tally.Total);
                Assert.Equal(expected, actual);
            }


            // Nobody restarted the service: it reconnected by itself and served the rest of the load.
            Assert.True(completedAfterLastRestart > 0, "No operation completed after the store came back.");
            passed = true;
        }
        finally
        {
            report.Flush(passed);
        }
    }

    private static int Completed(List<TimeSpan> completions)
    {
        lock (completions)
        {
            return completions.Count;
        }
    }
}
