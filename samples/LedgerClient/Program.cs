using System.Globalization;

namespace LedgerClient;

/// <summary>
/// The retry-storm demo: <c>dotnet run --project samples/LedgerClient -- --self-host</c>.
/// Prints the expected and actual balances, and how many requests were retried, replayed and rejected.
/// </summary>
internal static class Program
{
    private const string Usage = """
        LedgerClient: thousands of deposits and withdrawals through a lossy network, with retries.

          --self-host             start the BankLedger sample in this process (in-memory store, 127.0.0.1, free port)
          --url URL               use a running BankLedger instead (default http://127.0.0.1:5080/)
          --token TOKEN           bearer token for --url (default alice-token)
          --operations N          deposits and withdrawals to send (default 3000)
          --drop-requests X       share of attempts lost before reaching the server (default 0.1)
          --drop-responses X      share of responses lost after the server applied the request (default 0.1)
          --parallel N            operations in flight at once (default 4; 1 makes a run repeatable)
          --seed N                seed of the faults and amounts (default 42)
          --no-keys               no key kept across retries: a fresh key on every attempt, as a naive client does

        Exit code: 0 when the run finished (and, with keys, the books match), 2 when keys were kept and the books
        still differ, 1 on a usage or connection error.
        """;

    public static async Task<int> Main(string[] args)
    {
        RetryStormOptions options;
        Uri? url;
        bool selfHost;
        try
        {
            (options, url, selfHost) = Parse(args);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or OverflowException)
        {
            await Console.Error.WriteLineAsync(ex.Message + Environment.NewLine + Environment.NewLine + Usage);
            return 1;
        }

        if (options is null)
        {
            Console.WriteLine(Usage);
            return 0;
        }

        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };

        SelfHostedLedger? host = null;
        try
        {
            if (selfHost)
            {
                host = await SelfHostedLedger.StartAsync(cancel.Token);
                url = host.BaseAddress;
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{options.Operations} operations against {url}, {options.DropRequests * 100:0.#}% of requests and {options.DropResponses * 100:0.#}% of responses lost, keys {(options.UseKeys ? "kept across retries" : "NOT kept across retries")}"));
            var report = await RetryStorm.RunAsync(url!, options, ProgressBar.ForConsole(options.Operations), cancel.Token);
            Console.WriteLine(report.Format());
            return options.UseKeys && !report.BalancesMatch ? 2 : 0;
        }
        catch (HttpRequestException ex)
        {
            await Console.Error.WriteLineAsync($"Cannot reach the ledger at {url}: {ex.Message}. Start it (dotnet run --project samples/BankLedger) or use --self-host.");
            return 1;
        }
        catch (InvalidOperationException ex)
        {
            await Console.Error.WriteLineAsync(ex.Message);
            return 1;
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            await Console.Error.WriteLineAsync("Stopped.");
            return 1;
        }
        finally
        {
            if (host is not null)
            {
                await host.DisposeAsync();
            }
        }
    }

    /// <summary>Reads the command line; returns null options for --help.</summary>
    private static (RetryStormOptions Options, Uri? Url, bool SelfHost) Parse(string[] args)
    {
        var options = new RetryStormOptions();
        var url = new Uri("http://127.0.0.1:5080/");
        string? token = null;
        var selfHost = false;
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            switch (args[i])
            {
                case "--self-host": selfHost = true; break;
                case "--url": url = new Uri(Value().TrimEnd('/') + "/"); break;
                case "--token": token = Value(); break;
                case "--operations": options.Operations = int.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--drop-requests": options.DropRequests = double.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--drop-responses": options.DropResponses = double.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--parallel": options.Parallelism = int.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--seed": options.Seed = int.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--no-keys": options.UseKeys = false; break;
                case "--help" or "-h": return (null!, null, false);
                default: throw new ArgumentException($"Unknown option '{args[i]}'.");
            }
        }

        options.Token = token ?? (selfHost ? SelfHostedLedger.DemoToken : "alice-token");
        options.Validate();
        return (options, url, selfHost);
    }
}
