using System.Diagnostics;
using BankLedger.Ledger;
using BankLedger.Queue;
using Dapper;
using Idempotency.Chaos.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using Xunit.Abstractions;

namespace Idempotency.Chaos.Tests.Worker;

/// <summary>
/// The BankLedger sample's transfer queue worker, in child processes killed with SIGKILL mid-batch again and again and
/// started again each time: every message id must be applied exactly once (the ledger change, the idempotency record
/// and the queue row's deletion commit together), and the queue must end empty.
/// </summary>
[Trait("Lane", "Full")]
public sealed class TransferQueueWorkerCrashTests(ITestOutputHelper output)
{
    private const int Accounts = 12;
    private const int Messages = 900;
    private const int Kills = 200;
    private const int Workers = 2;
    private const long OpeningBalance = 10_000_000;
    private const string User = "alice";

    // Not timing assertions: guards so that a stuck run fails instead of hanging the suite.
    private static readonly TimeSpan s_hangGuard = TimeSpan.FromMinutes(4);

    // The kills stop at Kills, when the queue is empty, or after this long, whichever comes first: each kill costs a
    // process start, and on a loaded machine the test would otherwise outgrow its budget. The report says how many.
    private static readonly TimeSpan s_killPhase = TimeSpan.FromSeconds(60) * ChaosSettings.Scale;
    private static readonly TimeSpan s_batchWait = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task WorkerKilledMidBatch_AgainAndAgain_AppliesEveryMessageIdExactlyOnce_AndEmptiesTheQueue()
    {
        var seed = ChaosSettings.Seed(7301);
        var report = new ChaosReport(output, "Transfer queue worker, SIGKILL mid-batch", seed);
        var passed = false;
        try
        {
            var random = new Random(seed);
            await using var postgreSql = await ChaosPostgreSql.StartAsync();
            var connectionString = postgreSql.ConnectionString();
            using var setup = TransferWorkerHost.Build(connectionString, worker: false);
            await setup.StartAsync(); // creates the ledger's, the queue's and the records' tables

            // Several transfers per account, and a quarter of the messages delivered two or three times.
            var accounts = await OpenAccountsAsync(setup);
            var commands = Enumerable.Range(0, ChaosSettings.Scaled(Messages)).Select(i =>
            {
                var from = accounts[random.Next(accounts.Count)];
                var to = accounts[(accounts.IndexOf(from) + 1 + random.Next(accounts.Count - 1)) % accounts.Count];
                return (MessageId: $"transfer-{seed}-{i}", Command: new TransferCommand(User, from, to, random.Next(1, 1_000)));
            }).ToList();
            var deliveries = commands.SelectMany(c => Enumerable.Repeat(c, random.NextDouble() < 0.25 ? random.Next(2, 4) : 1)).OrderBy(_ => random.Next()).ToList();
            var queue = setup.Services.GetRequiredService<TransferQueue>();
            foreach (var (messageId, command) in deliveries)
            {
                await queue.EnqueueAsync(messageId, command.ToBytes(), CancellationToken.None);
            }

            var stopwatch = Stopwatch.StartNew();
            var tally = new Tally();
            var killsWanted = ChaosSettings.Scaled(Kills);
            await Task.WhenAll(Enumerable.Range(0, Workers).Select(w => KillRepeatedlyAsync(connectionString, new Random(seed + w + 1), killsWanted, stopwatch, tally))).WaitAsync(s_hangGuard);
            var killPhase = stopwatch.Elapsed;
            var leftAfterKills = await CountAsync(connectionString, "bank_transfer_queue");

            // Then one worker left alone, to drain what the killed ones left behind.
            await using (var last = await WorkerProcess.StartAsync(connectionString))
            {
                await WaitUntilAsync(async () => await CountAsync(connectionString, "bank_transfer_queue") == 0).WaitAsync(s_hangGuard);
                tally.Add(last);
            }

            var elapsed = stopwatch.Elapsed;
            var expected = accounts.ToDictionary(a => a, _ => OpeningBalance);
            foreach (var (_, command) in commands)
            {
                expected[command.From] -= command.Amount;
                expected[command.To] += command.Amount;
            }

            var actual = new Dictionary<long, long>();
            var brokenChains = 0;
            using (var scope = setup.Services.CreateScope())
            {
                var ledger = scope.ServiceProvider.GetRequiredService<ILedger>();
                foreach (var account in accounts)
                {
                    actual[account] = (await ledger.GetAccountAsync(User, account, CancellationToken.None))!.Balance;
                    var entries = (await ledger.GetEntriesAsync(User, account, CancellationToken.None))!;
                    brokenChains += entries.Zip(entries.Skip(1)).Count(p => p.Second.Balance != p.First.Balance + p.Second.Amount);
                }
            }

            var transfers = await CountAsync(connectionString, "bank_transfers");
            var records = await CountAsync(connectionString, "idempotency_records");
            report.Add("distinct message ids (commands)", commands.Count);
            report.Add("queue rows enqueued (with duplicate deliveries)", deliveries.Count);
            report.Add("accounts", accounts.Count);
            report.Add("concurrent worker processes", Workers);
            report.Add("SIGKILLs (wanted, at most)", killsWanted);
            report.Add("SIGKILLs", tally.Kills);
            report.Add("SIGKILLs while a batch was being handled", tally.KillsMidBatch);
            report.Add("worker incarnations", tally.Incarnations);
            report.Add("batches taken", tally.Events("TransferBatchTaken"));
            report.Add("redeliveries (a row taken again after its visibility timeout)", tally.Events("TransferCommandRedelivered"));
            report.Add("commands applied", tally.Events("TransferCommandApplied"));
            report.Add("duplicate deliveries acknowledged as replays", tally.Events("TransferCommandReplayed"));
            report.Add("deliveries deferred while another held the message id", tally.Events("TransferCommandInFlight"));
            report.Add("deliveries that failed and were left for redelivery", tally.Events("TransferCommandFailed"));
            report.Add("transfers in the ledger", transfers);
            report.Add("idempotency records", records);
            report.Add("net error over all accounts (sum of |actual - expected|)", expected.Sum(e => Math.Abs(actual[e.Key] - e.Value)));
            report.Add("queue rows left when the kills ended, drained by one worker left alone", leftAfterKills);
            report.Add("kill phase (s)", Math.Round(killPhase.TotalSeconds, 1));
            report.Add("elapsed, kills and drain (s)", Math.Round(elapsed.TotalSeconds, 1));

            // The chaos happened: workers died with a batch in hand, and their commands came back.
            Assert.True(tally.KillsMidBatch > 0, "No worker was killed with a batch in hand.");
            Assert.True(tally.Events("TransferCommandRedelivered") > 0, "No command was redelivered.");
            Assert.Equal(expected, actual);
            Assert.Equal(0, brokenChains);
            Assert.Equal(commands.Count, transfers);
            Assert.Equal(commands.Count, records);
            Assert.Equal(0, await CountAsync(connectionString, "bank_transfer_queue"));
            Assert.Equal(0, await CountAsync(connectionString, "bank_transfer_dead_letters"));
            passed = true;
        }
        finally
        {
            report.Flush(passed);
        }
    }

    /// <summary>
    /// Starts a worker, waits until it has taken its first or second batch (or a few seconds, when nothing is visible),
    /// kills it a random few milliseconds later, and starts the next, until the kills are done, the queue is empty or the
    /// kill phase is over.
    /// </summary>
    private static async Task KillRepeatedlyAsync(string connectionString, Random random, int killsWanted, Stopwatch stopwatch, Tally tally)
    {
        while (tally.Kills < killsWanted && stopwatch.Elapsed < s_killPhase && await CountAsync(connectionString, "bank_transfer_queue") > 0)
        {
            await using var worker = await WorkerProcess.StartAsync(connectionString);
            var batches = random.NextDouble() < 0.75 ? 1 : 2;
            var waited = Stopwatch.StartNew();
            while (worker.Count("TransferBatchTaken") < batches && waited.Elapsed < s_batchWait)
            {
                await Task.Delay(1);
            }

            await Task.Delay(random.Next(0, 40));
            var midBatch = worker.Count("TransferBatchTaken") > worker.Count("TransferBatchDone");
            await worker.KillAsync();
            tally.Killed(worker, midBatch);
        }
    }

    private static async Task<List<long>> OpenAccountsAsync(IHost host)
    {
        using var scope = host.Services.CreateScope();
        var ledger = scope.ServiceProvider.GetRequiredService<ILedger>();
        var accounts = new List<long>();
        for (var i = 0; i < Accounts; i++)
        {
            var account = await ledger.OpenAccountAsync(User, $"owner {i}", CancellationToken.None);
            await ledger.PostAsync(User, account.Id, OpeningBalance, CancellationToken.None);
            accounts.Add(account.Id);
        }

        return accounts;
    }

    private static async Task<long> CountAsync(string connectionString, string table)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        return await connection.ExecuteScalarAsync<long>($"SELECT count(*) FROM {table}");
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        while (!await condition())
        {
            await Task.Delay(50);
        }
    }

    private sealed class Tally
    {
        private readonly Lock _lock = new();
        private readonly Dictionary<string, int> _events = new(StringComparer.Ordinal);
        private static readonly string[] s_names =
        [
            "TransferBatchTaken", "TransferCommandRedelivered", "TransferCommandApplied", "TransferCommandReplayed",
            "TransferCommandInFlight", "TransferCommandFailed",
        ];

        public int Kills { get; private set; }

        public int KillsMidBatch { get; private set; }

        public int Incarnations { get; private set; }

        public int Events(string name)
        {
            lock (_lock)
            {
                return _events.GetValueOrDefault(name);
            }
        }

        public void Killed(WorkerProcess worker, bool midBatch)
        {
            lock (_lock)
            {
                Kills++;
                KillsMidBatch += midBatch ? 1 : 0;
            }

            Add(worker);
        }

        public void Add(WorkerProcess worker)
        {
            lock (_lock)
            {
                Incarnations++;
                foreach (var name in s_names)
                {
                    _events[name] = _events.GetValueOrDefault(name) + worker.Count(name);
                }
            }
        }
    }
}
