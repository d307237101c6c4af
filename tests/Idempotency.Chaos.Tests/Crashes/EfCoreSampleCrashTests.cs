using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using BankLedger;
using Idempotency.Chaos.Tests.Infrastructure;
using Idempotency.PostgreSql.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Idempotency.Chaos.Tests.Crashes;

/// <summary>
/// The BankLedger sample itself in efcore mode (<c>Idempotency:Store=efcore</c>: the ledger on EF Core, keyed writes in
/// the EF Core transactional mode), a separate process killed with SIGKILL at random moments while clients deposit and
/// transfer, and started again on the same port. Every client retries its operation with the same key until it is
/// answered 201. A kill mid-request must leave nothing (the retry runs it) or everything (the retry replays it): at the
/// end every balance is exactly what the answered operations make it, and every account's entries form an unbroken chain.
/// </summary>
[Trait("Lane", "Full")]
public sealed class EfCoreSampleCrashTests(ITestOutputHelper output)
{
    private const int Accounts = 4;
    private const int Clients = 6;
    private const long InitialBalance = 1_000_000;

    // The run's length (not a timing assertion): the workload stops starting operations after it, then drains.
    private static readonly TimeSpan s_timeBox = TimeSpan.FromSeconds(45);
    private static readonly TimeSpan s_hangGuard = TimeSpan.FromMinutes(4);

    [Fact]
    public async Task SampleInEfCoreMode_KilledMidRequest_LeavesNothingOrEverything_AndEveryBalanceIsExact()
    {
        var seed = ChaosSettings.Seed(7251);
        var report = new ChaosReport(output, "Crashes, the sample in efcore mode", seed);
        await using var server = await PostgreSqlServer.CreateAsync();
        var connectionString = server.ConnectionString(await server.CreateDatabaseAsync());
        await using var sample = new SampleProcess(connectionString);
        await sample.StartAsync();
        using var http = new HttpClient { BaseAddress = sample.BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "alice-token");

        var attempts = 0;
        var replays = 0;
        async Task<JsonElement> UntilCreatedAsync(string path, object body)
        {
            var key = $"\"{Guid.NewGuid()}\"";
            while (true)
            {
                Interlocked.Increment(ref attempts);
                try
                {
                    using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
                    request.Headers.Add("Idempotency-Key", key);
                    using var response = await http.SendAsync(request);
                    var text = await response.Content.ReadAsStringAsync();
                    if (response.StatusCode == HttpStatusCode.Created)
                    {
                        if (response.Headers.Contains("Idempotent-Replayed"))
                        {
                            Interlocked.Increment(ref replays);
                        }

                        return JsonDocument.Parse(text).RootElement.Clone();
                    }

                    // Only "try again" answers are expected: in flight elsewhere (409 request-in-flight) or the store down (503).
                    var retryable = response.StatusCode == HttpStatusCode.ServiceUnavailable
                        || (response.StatusCode == HttpStatusCode.Conflict && text.Contains("request-in-flight", StringComparison.Ordinal));
                    Assert.True(retryable, $"{path}: {(int)response.StatusCode} {text}{Environment.NewLine}{sample.StandardErrorTail}");
                }
                catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException)
                {
                    // The process was killed mid-request, or is starting again.
                }

                await Task.Delay(50);
            }
        }

        var ids = new long[Accounts];
        for (var i = 0; i < Accounts; i++)
        {
            ids[i] = (await UntilCreatedAsync("/accounts", new { owner = $"account {i}" })).GetProperty("id").GetInt64();
            await UntilCreatedAsync($"/accounts/{ids[i]}/deposits", new { amount = InitialBalance });
        }

        var expected = ids.ToDictionary(id => id, _ => InitialBalance);
        var operations = 0;
        var stopwatch = Stopwatch.StartNew();
        var random = new Random(seed);
        var clientSeeds = Enumerable.Range(0, Clients).Select(_ => random.Next()).ToArray();
        var load = Task.WhenAll(clientSeeds.Select(clientSeed => Task.Run(async () =>
        {
            var rng = new Random(clientSeed);
            var applied = new List<(long Account, long Delta)>();
            while (stopwatch.Elapsed < s_timeBox)
            {
                var amount = rng.Next(1, 100);
                var from = ids[rng.Next(Accounts)];
                if (rng.Next(3) == 0)
                {
                    await UntilCreatedAsync($"/accounts/{from}/deposits", new { amount });
                    applied.Add((from, amount));
                }
                else
                {
                    var to = ids[(Array.IndexOf(ids, from) + 1 + rng.Next(Accounts - 1)) % Accounts];
                    await UntilCreatedAsync("/transfers", new { from, to, amount });
                    applied.Add((from, -amount));
                    applied.Add((to, amount));
                }

                Interlocked.Increment(ref operations);
            }

            return applied;
        })));

        var kills = 0;
        while (!load.IsCompleted && stopwatch.Elapsed < s_timeBox)
        {
            await Task.WhenAny(load, Task.Delay(random.Next(300, 1_500)));
            if (!load.IsCompleted)
            {
                await sample.KillAsync();
                kills++;
                await sample.StartAsync();
            }
        }

        foreach (var (account, delta) in (await load.WaitAsync(s_hangGuard)).SelectMany(applied => applied))
        {
            expected[account] += delta;
        }

        var balanceChecks = 0;
        var entriesChecked = 0;
        foreach (var id in ids)
        {
            var account = await http.GetFromJsonAsync<JsonElement>($"/accounts/{id}");
            var entries = (await http.GetFromJsonAsync<JsonElement[]>($"/accounts/{id}/entries"))!;
            Assert.Equal(expected[id], account.GetProperty("balance").GetInt64());
            Assert.Equal(entries.Length, account.GetProperty("lastEntry").GetInt64());

            // Nothing or everything: entries 1..n without gaps, each balance the previous one plus its amount.
            var balance = 0L;
            for (var n = 0; n < entries.Length; n++)
            {
                Assert.Equal(n + 1, entries[n].GetProperty("entry").GetInt64());
                balance += entries[n].GetProperty("amount").GetInt64();
                Assert.Equal(balance, entries[n].GetProperty("balance").GetInt64());
            }

            Assert.Equal(expected[id], balance);
            balanceChecks++;
            entriesChecked += entries.Length;
        }

        report.Add("SIGKILLs under load", kills);
        report.Add("operations answered 201 (deposits and transfers)", operations);
        report.Add("requests sent (with retries)", attempts);
        report.Add("answers replayed (Idempotent-Replayed)", replays);
        report.Add("accounts whose balance was checked exactly", balanceChecks);
        report.Add("entries checked (chain and amounts)", entriesChecked);
        report.Add("money in the system (initial, at the end)", $"{Accounts * InitialBalance}, {expected.Values.Sum()}");
        report.Flush(passed: true);
        Assert.True(kills > 0, "the run killed the sample at least once");
    }

    /// <summary>The sample's own build (BankLedger.dll, copied next to this assembly) as a child process on a fixed port.</summary>
    private sealed class SampleProcess(string connectionString) : IAsyncDisposable
    {
        private static readonly TimeSpan s_startGuard = TimeSpan.FromSeconds(60);
        private readonly Queue<string> _stderr = new();
        private Process? _process;

        public Uri BaseAddress { get; } = new($"http://127.0.0.1:{FreeLoopbackPort()}/");

        public string StandardErrorTail
        {
            get
            {
                lock (_stderr)
                {
                    return string.Join(Environment.NewLine, _stderr);
                }
            }
        }

        public async Task StartAsync()
        {
            var assembly = typeof(BankLedgerApp).Assembly.Location;
            var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = Path.GetDirectoryName(assembly)!,
            };
            start.ArgumentList.Add(assembly);
            start.Environment["Idempotency__Store"] = "efcore";
            start.Environment["ConnectionStrings__Postgres"] = connectionString;
            start.Environment["ASPNETCORE_URLS"] = BaseAddress.ToString();
            start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
            start.Environment["Logging__LogLevel__Default"] = "Error";
            start.Environment["DOTNET_gcServer"] = "0";
            _process = Process.Start(start)!;
            _process.OutputDataReceived += (_, _) => { };
            _process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is { } line)
                {
                    lock (_stderr)
                    {
                        _stderr.Enqueue(line);
                        while (_stderr.Count > 40)
                        {
                            _stderr.Dequeue();
                        }
                    }
                }
            };
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();

            using var probe = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
            var started = Stopwatch.StartNew();
            while (true)
            {
                Assert.False(_process.HasExited, $"The sample exited at start-up:{Environment.NewLine}{StandardErrorTail}");
                Assert.True(started.Elapsed < s_startGuard, $"The sample did not start:{Environment.NewLine}{StandardErrorTail}");
                try
                {
                    using var response = await probe.GetAsync("/healthz");
                    if (response.IsSuccessStatusCode)
                    {
                        return;
                    }
                }
                catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException)
                {
                }

                await Task.Delay(50);
            }
        }

        /// <summary>SIGKILL, and wait for the process to be gone.</summary>
        public async Task KillAsync()
        {
            if (_process is not { } process)
            {
                return;
            }

            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // Already exited.
            }

            await process.WaitForExitAsync();
            process.Dispose();
            _process = null;
        }

        public ValueTask DisposeAsync() => new(KillAsync());

        private static int FreeLoopbackPort()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
    }
}
