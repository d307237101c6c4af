using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Idempotency.Chaos.Tests.Ledger;

namespace Idempotency.Chaos.Tests.Infrastructure;

/// <summary>
/// The chaos ledger as a separate process (<c>dotnet Idempotency.Chaos.Tests.dll chaos-ledger ...</c>) on a fixed
/// loopback port, so a test can kill it with SIGKILL under load and start it again, as an orchestrator restarts a
/// crashed service. Every start is a new incarnation, written with each effect in the journal. Disposing kills it;
/// the child also exits by itself if the test process dies.
/// </summary>
internal sealed class LedgerProcess : IAsyncDisposable
{
    private static readonly TimeSpan s_startGuard = TimeSpan.FromSeconds(60);

    private readonly ChaosLedgerOptions _options;
    private readonly ConcurrentQueue<string> _stderr = new();
    private Process? _process;

    public LedgerProcess(ChaosLedgerOptions options)
    {
        _options = options with { Port = options.Port == 0 ? FreeLoopbackPort() : options.Port };
        BaseAddress = new Uri($"http://127.0.0.1:{_options.Port}/");
    }

    public Uri BaseAddress { get; }

    /// <summary>Gets the number of the running (or last) incarnation; 0 before the first start.</summary>
    public int Incarnation { get; private set; }

    /// <summary>Gets the last lines the child wrote to stderr, for failure messages.</summary>
    public string StandardErrorTail => string.Join(Environment.NewLine, _stderr);

    /// <summary>Starts the next incarnation and waits until it listens.</summary>
    public async Task StartAsync()
    {
        if (_process is not null)
        {
            throw new InvalidOperationException("The ledger process is already running.");
        }

        Incarnation++;
        for (var attempt = 1; ; attempt++)
        {
            var process = Launch();
            var listening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            process.OutputDataReceived += (_, e) =>
            {
                if (e.Data == ChaosLedgerApp.ListeningLine)
                {
                    listening.TrySetResult();
                }
            };
            process.ErrorDataReceived += (_, e) => Remember(e.Data);
            process.Exited += (_, _) => listening.TrySetException(new InvalidOperationException($"The ledger process exited with code {SafeExitCode(process)} before it listened:{Environment.NewLine}{StandardErrorTail}"));
            process.EnableRaisingEvents = true;
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            _process = process;
            try
            {
                await listening.Task.WaitAsync(s_startGuard);
                return;
            }
            catch (InvalidOperationException) when (attempt < 20)
            {
                // Most likely the port of the killed incarnation is not free yet: try again shortly.
                await KillAsync();
                await Task.Delay(100);
            }
            catch
            {
                await KillAsync();
                throw;
            }
        }
    }

    /// <summary>Kills the running incarnation with SIGKILL, with no chance to finish anything, and waits for it to exit.</summary>
    public async Task KillAsync()
    {
        if (_process is not { } process)
        {
            return;
        }

        _process = null;
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
    }

    public ValueTask DisposeAsync() => new(KillAsync());

    private Process Launch()
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(typeof(Program).Assembly.Location);
        start.ArgumentList.Add("chaos-ledger");
        void Add(string name, string value)
        {
            start.ArgumentList.Add(name);
            start.ArgumentList.Add(value);
        }

        Add("--port", _options.Port.ToString(CultureInfo.InvariantCulture));
        Add("--store", _options.Store.ToString());
        if (_options.RedisConnectionString is { } redis)
        {
            Add("--redis", redis);
        }

        if (_options.PostgreSqlConnectionString is { } postgreSql)
        {
            Add("--postgresql", postgreSql);
        }

        Add("--journal", _options.JournalPath ?? throw new InvalidOperationException("A ledger process needs a journal file."));
        Add("--incarnation", Incarnation.ToString(CultureInfo.InvariantCulture));
        Add("--lease-ms", ((int)_options.LeaseDuration.TotalMilliseconds).ToString(CultureInfo.InvariantCulture));
        Add("--parent", Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        start.Environment["DOTNET_gcServer"] = "0";
        return new Process { StartInfo = start };
    }

    private void Remember(string? line)
    {
        if (line is null)
        {
            return;
        }

        _stderr.Enqueue(line);
        while (_stderr.Count > 40 && _stderr.TryDequeue(out _))
        {
        }
    }

    private static string SafeExitCode(Process process)
    {
        try
        {
            return process.ExitCode.ToString(CultureInfo.InvariantCulture);
        }
        catch (InvalidOperationException)
        {
            return "?";
        }
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
