using Idempotency.Chaos.Tests.Infrastructure;
using Idempotency.Chaos.Tests.Ledger;
using Idempotency.Redis.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Idempotency.Chaos.Tests.Crashes;

/// <summary>
/// The service is a separate process, killed with SIGKILL at random moments under load and started again; every client
/// retries until it gets its answer. With the in-memory, Redis and PostgreSQL stores the effects go to a journal file
/// that survives the kills: the key record and the effect are two writes in two places, so a crash between them can
/// repeat an effect, and these tests measure how often and assert what must hold even so. In PostgreSQL transactional
/// mode the effects go to PostgreSQL in the request's transaction, and every operation must be applied exactly once.
/// </summary>
[Trait("Lane", "Full")]
public sealed class ProcessCrashTests(ITestOutputHelper output)
{
    private const int Operations = 600;
    private const int Kills = 8;
    private const int Concurrency = 8;

    // Not a timing assertion: a guard so that a stuck run fails the test instead of hanging the suite.
    private static readonly TimeSpan s_hangGuard = TimeSpan.FromMinutes(5);

    [Fact]
    public Task KilledProcess_WithTheInMemoryStore_LosesItsRecords_SoOnlyRetriesAcrossACrashRepeatAnEffect() =>
        RunAsync("Crashes, in-memory store", ChaosSettings.Seed(7201), new ChaosLedgerOptions { Store = ChaosStore.Memory });

    [Fact]
    public async Task KilledProcess_WithTheRedisStore_BlocksRetriesForTheLease_ThenOnlyEffectsCutOffByTheCrashRepeat()
    {
        await using var redis = await RedisServer.StartAsync();

        // A short lease, so that the claims of killed requests free up within the test; the handler takes milliseconds.
        await RunAsync("Crashes, Redis store", ChaosSettings.Seed(7202), new ChaosLedgerOptions
        {
            Store = ChaosStore.Redis,
            RedisConnectionString = redis.ConnectionString(),
            LeaseDuration = TimeSpan.FromSeconds(3),
        });
    }

    [Fact]
    public async Task KilledProcess_WithThePostgreSqlStore_BlocksRetriesForTheLease_ThenOnlyEffectsCutOffByTheCrashRepeat()
    {
        await using var postgreSql = await ChaosPostgreSql.StartAsync();
        await RunAsync("Crashes, PostgreSQL store", ChaosSettings.Seed(7203), new ChaosLedgerOptions
        {
            Store = ChaosStore.PostgreSql,
            PostgreSqlConnectionString = postgreSql.ConnectionString(),
            LeaseDuration = TimeSpan.FromSeconds(3),
        });
    }

    [Fact]
    public async Task KilledProcess_InPostgreSqlTransactionalMode_AppliesEveryOperationExactlyOnce()
    {
        await using var postgreSql = await ChaosPostgreSql.StartAsync();
        await RunAsync("Crashes, PostgreSQL transactional mode", ChaosSettings.Seed(7204), new ChaosLedgerOptions
        {
            Store = ChaosStore.PostgreSqlTransactional,
            PostgreSqlConnectionString = postgreSql.ConnectionString(),
            LeaseDuration = TimeSpan.FromSeconds(3),
        });
    }

    private async Task RunAsync(string title, int seed, ChaosLedgerOptions options)
    {
        var report = new ChaosReport(output, title, seed);
        var passed = false;
        var directory = Directory.CreateTempSubdirectory("idempotency-chaos-");
        try
        {
            var journal = Path.Combine(directory.FullName, "journal.tsv");
            var operations = Workload.Generate(seed, ChaosSettings.Scaled(Operations));
            var kills = ChaosSettings.Scaled(Kills);
            await using var service = new LedgerProcess(options with { JournalPath = journal });
            await service.StartAsync();
            using var client = LedgerClient.Create(service.BaseAddress, withKeys: true, new RetryShape
            {
                MaxAttempts = 1_000,
                AttemptTimeout = TimeSpan.FromSeconds(5),
                TotalTimeout = TimeSpan.FromMinutes(3),
                MaxBackoff = TimeSpan.FromMilliseconds(250),
            });

            var completed = 0;
            var load = Workload.RunAsync(client.Http, operations, Concurrency, () => Interlocked.Increment(ref completed));
            var killed = await KillRepeatedlyAsync(service, seed, kills, operations.Count, () => Volatile.Read(ref completed), load).WaitAsync(s_hangGuard);
            var result = await load.WaitAsync(s_hangGuard);
            await service.KillAsync();

            var transactional = options.Store == ChaosStore.PostgreSqlTransactional;
            var (entries, torn) = transactional ? (await PostgreSqlLedgerBook.ReadAsync(options.PostgreSqlConnectionString!), 0) : Journal.Read(journal);
            var applications = entries.GroupBy(e => e.OperationId).ToDictionary(g => g.Key, g => g.Select(e => e.Incarnation).ToList(), StringComparer.Ordinal);
            var repeatGaps = entries.GroupBy(e => e.OperationId).Where(g => g.Count() > 1).Select(g => (g.Max(e => e.At) - g.Min(e => e.At)).TotalSeconds).ToList();
            var missing = operations.Where(o => !applications.ContainsKey(o.Id)).Select(o => o.Id).ToList();
            var repeated = applications.Where(a => a.Value.Count > 1).ToList();
            var repeatedInOneIncarnation = repeated.Where(a => a.Value.Distinct().Count() < a.Value.Count).Select(a => $"{a.Key}: incarnations {string.Join(",", a.Value)}").ToList();
            var expected = Workload.ExpectedBalances(operations);
            var actual = entries.SelectMany(e => e.Legs).GroupBy(l => l.Account).ToDictionary(g => g.Key, g => g.Sum(l => l.Delta), StringComparer.Ordinal);

            report.Add("operations", operations.Count);
            report.Add("concurrent clients", Concurrency);
            report.Add("SIGKILLs under load", killed);
            report.Add("lease", options.LeaseDuration);
            report.Add("attempts sent by clients", client.Attempts.Attempts);
            report.Add("attempt outcomes", client.Attempts.Summary);
            report.Add("answers replayed (Idempotent-Replayed)", client.Attempts.Replays);
            report.Add("effects recorded (journal, or table in transactional mode)", entries.Count);
            if (!transactional)
            {
                report.Add("torn journal lines", torn);
            }

            report.Add("operations applied once", applications.Count(a => a.Value.Count == 1));
            report.Add("operations applied more than once", repeated.Count);
            report.Add("most applications of one operation", applications.Count == 0 ? 0 : applications.Max(a => a.Value.Count));
            if (repeatGaps.Count > 0)
            {
                report.Add("time from an effect to its repeat, min / max (s)", $"{repeatGaps.Min():F1} / {repeatGaps.Max():F1}");
            }

            report.Add("net error over all accounts (sum of |actual - expected|)", expected.Sum(e => Math.Abs(actual.GetValueOrDefault(e.Key) - e.Value)));
            report.Add("elapsed (s)", Math.Round(result.Elapsed.TotalSeconds, 1));
            foreach (var (id, incarnations) in repeated.Take(10))
            {
                report.Note($"{id} applied by incarnations {string.Join(", ", incarnations)}");
            }

            Assert.Equal(kills, killed);
            Assert.True(result.Count(201) == operations.Count, result.Failures() + Environment.NewLine + service.StandardErrorTail);

            // A 201 is sent only after the effect is in the journal: no answered operation may be missing from it.
            Assert.Empty(missing);
            Assert.Equal(0, torn);

            // The store protects retries that reach the same process: an effect can repeat only across a crash.
            Assert.Empty(repeatedInOneIncarnation);
            if (transactional)
            {
                // The claim, the effect and the response commit together: a crash rolls all three back, never one alone.
                Assert.Empty(repeated.Select(r => r.Key));
                Assert.Equal(operations.Count, entries.Count);
                Assert.Equal(expected, actual);
            }

            passed = true;
        }
        finally
        {
            report.Flush(passed);
            directory.Delete(recursive: true);
        }
    }

    /// <summary>
    /// Kills the service <paramref name="kills"/> times, each at a seeded random point of the load's progress plus a
    /// seeded random few milliseconds, then starts it again at once. Returns the number of kills done.
    /// </summary>
    private static async Task<int> KillRepeatedlyAsync(LedgerProcess service, int seed, int kills, int operations, Func<int> completed, Task load)
    {
        var random = new Random(seed);
        var spacing = operations / (kills + 1);
        var done = 0;
        for (var k = 1; k <= kills; k++)
        {
            var target = (k * spacing) + random.Next(-spacing / 3, (spacing / 3) + 1);
            while (completed() < target && !load.IsCompleted)
            {
                await Task.Delay(2);
            }

            if (load.IsCompleted)
            {
                break;
            }

            await Task.Delay(random.Next(0, 25));
            await service.KillAsync();
            done++;
            await service.StartAsync();
        }

        return done;
    }
}
