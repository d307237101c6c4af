using System.Diagnostics;
using System.Globalization;

namespace Idempotency.Chaos.Tests.Worker;

/// <summary>
/// The sample's transfer queue worker as a separate process (<c>dotnet Idempotency.Chaos.Tests.dll transfer-worker ...</c>),
/// which a test kills with SIGKILL. Counts the worker's events from its stdout, one line each, as they happen.
/// </summary>
internal sealed class WorkerProcess : IAsyncDisposable
{
    private static readonly TimeSpan s_startGuard = TimeSpan.FromSeconds(60);

    private readonly Process _process;
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Dictionary<string, int> _events = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private string _stderr = string.Empty;

    private WorkerProcess(string connectionString)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(typeof(Program).Assembly.Location);
        start.ArgumentList.Add("transfer-worker");
        start.ArgumentList.Add(connectionString);
        start.ArgumentList.Add(Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        start.Environment["DOTNET_gcServer"] = "0";
        start.Environment["DOTNET_TieredPGO"] = "0";
        _process = new Process { StartInfo = start, EnableRaisingEvents = true };
        _process.OutputDataReceived += (_, e) => OnLine(e.Data);
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                lock (_lock)
                {
                    _stderr = (_stderr + Environment.NewLine + line)[^Math.Min(_stderr.Length + line.Length + 1, 4_000)..];
                }
            }
        };
        _process.Exited += (_, _) => _ready.TrySetException(new InvalidOperationException($"The worker exited before it was ready:{StandardErrorTail}"));
    }

    public string StandardErrorTail
    {
        get
        {
            lock (_lock)
            {
                return _stderr;
            }
        }
    }

    public static async Task<WorkerProcess> StartAsync(string connectionString)
    {
        var worker = new WorkerProcess(connectionString);
        worker._process.Start();
        worker._process.BeginOutputReadLine();
        worker._process.BeginErrorReadLine();
        try
        {
            await worker._ready.Task.WaitAsync(s_startGuard);
            return worker;
        }
        catch
        {
            await worker.DisposeAsync();
            throw;
        }
    }

    /// <summary>How many times the worker has logged the event <paramref name="name"/> so far.</summary>
    public int Count(string name)
    {
        lock (_lock)
        {
            return _events.GetValueOrDefault(name);
        }
    }

    /// <summary>Kills the worker with SIGKILL and waits for it to exit; then drains what it wrote before.</summary>
    public async Task KillAsync()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }

        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }

    private void OnLine(string? line)
    {
        if (line == TransferWorkerHost.ReadyLine)
        {
            _ready.TrySetResult();
        }
        else if (line is not null && line.StartsWith("event ", StringComparison.Ordinal))
        {
            lock (_lock)
            {
                var name = line["event ".Length..];
                _events[name] = _events.GetValueOrDefault(name) + 1;
            }
        }
    }
}
