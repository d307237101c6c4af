using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Idempotency.PostgreSql.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Idempotency.PostgreSql.Tests.Transactions;

/// <summary>Transactional mode across instances and across a crash of the instance that runs the request.</summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class TransactionalModeFaultTests(PostgreSqlFixture fixture, ITestOutputHelper output)
{
    // Not a timing assertion: a guard so that a stuck request or child process fails the test instead of the run.
    private static readonly TimeSpan s_hangGuard = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task SixtyFourDuplicates_SpreadOverTwoInstances_ExecuteOnce()
    {
        var database = await LedgerDatabase.CreateAsync(fixture.ConnectionString);
        await using var first = await LedgerApp.StartTestServerAsync(database);
        await using var second = await LedgerApp.StartTestServerAsync(database);
        using var start = new ManualResetEventSlim();

        var requests = Enumerable.Range(0, 64).Select(i => Task.Run(async () =>
        {
            var client = i % 2 == 0 ? first.Client! : second.Client!;
            start.Wait();
            return await client.SendAsync(LedgerApp.Deposit("alice", "k1"));
        })).ToArray();
        start.Set();
        var responses = await Task.WhenAll(requests).WaitAsync(s_hangGuard);
        var executed = responses.Where(r => r.StatusCode == HttpStatusCode.Created && !r.Headers.Contains("Idempotent-Replayed")).ToList();
        var replayed = responses.Count(r => r.StatusCode == HttpStatusCode.Created && r.Headers.Contains("Idempotent-Replayed"));
        var inFlight = responses.Count(r => r.StatusCode == HttpStatusCode.Conflict);
        var replayAfterwards = await second.Client!.SendAsync(LedgerApp.Deposit("alice", "k1"));

        Assert.Single(executed);
        Assert.Equal(64, executed.Count + replayed + inFlight);
        Assert.Equal(1, await database.LedgerCountAsync());
        Assert.Equal("true", Assert.Single(replayAfterwards.Headers.GetValues("Idempotent-Replayed")));
        Assert.Equal(await executed[0].Content.ReadAsStringAsync(), await replayAfterwards.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task ProcessKilledMidRequest_CommitsNothing_AndARetryRunsExactlyOnce()
    {
        var database = await LedgerDatabase.CreateAsync(fixture.ConnectionString);
        var port = FreeLoopbackPort();
        using var child = StartLedgerProcess(database, port);
        Exception killedRequest;
        try
        {
            var lines = new LineReader(child, output);
            await lines.WaitForAsync(LedgerApp.ListeningLine).WaitAsync(s_hangGuard);
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };

            // The handler inserts its ledger entry in the request's transaction, says so, and hangs: kill -9 the process then.
            var pending = http.SendAsync(LedgerApp.Deposit("alice", "k1", hold: "forever"));
            await lines.WaitForAsync(LedgerApp.InHandlerLine).WaitAsync(s_hangGuard);
            child.Kill(entireProcessTree: true);
            await child.WaitForExitAsync().WaitAsync(s_hangGuard);
            killedRequest = await Assert.ThrowsAsync<HttpRequestException>(() => pending.WaitAsync(s_hangGuard));
        }
        finally
        {
            if (!child.HasExited)
            {
                child.Kill(entireProcessTree: true);
            }
        }

        // Another instance gets the retry. Until PostgreSQL notices the dead connection and rolls its transaction back,
        // the key is still locked and the retry gets 409; then it runs, once.
        await using var survivor = await LedgerApp.StartTestServerAsync(database);
        var retry = await RetryWhileInFlightAsync(survivor.Client!, "k1");
        var secondRetry = await survivor.Client!.SendAsync(LedgerApp.Deposit("alice", "k1"));

        output.WriteLine($"killed request: {killedRequest.Message}");
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.False(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal("true", Assert.Single(secondRetry.Headers.GetValues("Idempotent-Replayed")));
        Assert.Equal(1, await database.LedgerCountAsync());
    }

    private async Task<HttpResponseMessage> RetryWhileInFlightAsync(HttpClient client, string key)
    {
        for (var attempt = 1; ; attempt++)
        {
            using var request = LedgerApp.Deposit("alice", key);
            var response = await client.SendAsync(request).WaitAsync(s_hangGuard);
            if (response.StatusCode != HttpStatusCode.Conflict || attempt == 200)
            {
                output.WriteLine($"retry answered {(int)response.StatusCode} after {attempt} attempt(s)");
                return response;
            }

            await Task.Delay(50);
        }
    }

    private static Process StartLedgerProcess(LedgerDatabase database, int port)
    {
        var startInfo = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        startInfo.ArgumentList.Add(typeof(Program).Assembly.Location);
        startInfo.ArgumentList.Add("ledger-app");
        startInfo.ArgumentList.Add(database.ConnectionString);
        startInfo.ArgumentList.Add(database.Suffix);
        startInfo.ArgumentList.Add(port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return Process.Start(startInfo) ?? throw new InvalidOperationException("Could not start the ledger process.");
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Reads the child's output lines as they come, so a test can wait for a given one.</summary>
    private sealed class LineReader
    {
        private readonly List<string> _lines = [];
        private readonly Lock _lock = new();
        private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public LineReader(Process process, ITestOutputHelper output)
        {
            process.OutputDataReceived += (_, e) => Add(e.Data);
            process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is not null)
                {
                    output.WriteLine("child stderr: " + e.Data);
                }
            };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        public async Task WaitForAsync(string line)
        {
            while (true)
            {
                Task changed;
                lock (_lock)
                {
                    if (_lines.Contains(line))
                    {
                        return;
                    }

                    changed = _changed.Task;
                }

                await changed;
            }
        }

        private void Add(string? line)
        {
            lock (_lock)
            {
                if (line is not null)
                {
                    _lines.Add(line);
                }

                var changed = _changed;
                _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
                changed.SetResult();
            }
        }
    }
}
