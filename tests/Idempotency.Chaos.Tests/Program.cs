using System.Diagnostics;
using System.Globalization;
using Idempotency.Chaos.Tests.Ledger;
using Idempotency.Chaos.Tests.Worker;

namespace Idempotency.Chaos.Tests;

/// <summary>
/// The entry point of this assembly when a crash test starts it as a child process
/// (<c>dotnet Idempotency.Chaos.Tests.dll chaos-ledger --port 5123 --store redis ...</c>): the chaos ledger on Kestrel,
/// so that the test can SIGKILL a real process under load; or (<c>transfer-worker &lt;connection string&gt; &lt;parent pid&gt;</c>)
/// the BankLedger sample's transfer queue worker. The test runner never calls it.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args is ["transfer-worker", var connectionString, var parentPid])
        {
            // The sample's transfer queue worker, which the worker chaos test kills (see TransferQueueWorkerCrashTests).
            using var host = TransferWorkerHost.Build(connectionString, worker: true);
            await host.StartAsync();
            Console.WriteLine(TransferWorkerHost.ReadyLine);
            using var testProcess = Process.GetProcessById(int.Parse(parentPid, CultureInfo.InvariantCulture));
            await testProcess.WaitForExitAsync();
            return 0;
        }

        if (args is not ["chaos-ledger", .. var rest] || !TryParse(rest, out var options, out var parentId))
        {
            await Console.Error.WriteLineAsync(
                "usage: chaos-ledger --port <port> --store memory|redis|postgresql|postgresqltransactional [--redis <connection string>] " +
                "[--postgresql <connection string>] --journal <file> " +
                "--incarnation <n> --lease-ms <ms> --parent <pid>");
            return 2;
        }

        await using var app = await ChaosLedgerApp.StartAsync(options);
        Console.WriteLine(ChaosLedgerApp.ListeningLine);

        // Never outlive the test process, even if it dies without stopping this one.
        using var parent = Process.GetProcessById(parentId);
        await parent.WaitForExitAsync();
        return 0;
    }

    private static bool TryParse(string[] args, out ChaosLedgerOptions options, out int parentId)
    {
        options = new ChaosLedgerOptions();
        parentId = 0;
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            var value = args[i + 1];
            switch (args[i])
            {
                case "--port":
                    options = options with { Port = int.Parse(value, CultureInfo.InvariantCulture) };
                    break;
                case "--store":
                    options = options with { Store = Enum.Parse<ChaosStore>(value, ignoreCase: true) };
                    break;
                case "--redis":
                    options = options with { RedisConnectionString = value };
                    break;
                case "--postgresql":
                    options = options with { PostgreSqlConnectionString = value };
                    break;
                case "--journal":
                    options = options with { JournalPath = value };
                    break;
                case "--incarnation":
                    options = options with { Incarnation = int.Parse(value, CultureInfo.InvariantCulture) };
                    break;
                case "--lease-ms":
                    options = options with { LeaseDuration = TimeSpan.FromMilliseconds(int.Parse(value, CultureInfo.InvariantCulture)) };
                    break;
                case "--parent":
                    parentId = int.Parse(value, CultureInfo.InvariantCulture);
                    break;
                default:
                    return false;
            }
        }

        return options.Port > 0 && options.JournalPath is not null && parentId > 0 && args.Length % 2 == 0;
    }
}
