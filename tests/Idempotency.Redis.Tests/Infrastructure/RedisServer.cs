using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Idempotency.Tests.Shared;

namespace Idempotency.Redis.Tests.Infrastructure;

/// <summary>
/// A real <c>redis-server</c> for tests: a temporary directory, a free port on 127.0.0.1, no persistence, and
/// <c>maxmemory-policy noeviction</c> unless the caller's arguments say otherwise. It can be stopped (killed, like a
/// crash) and started again on the same port, for fault-injection tests.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private static readonly TimeSpan s_startTimeout = TimeSpan.FromSeconds(20);

    private readonly string _binary;
    private readonly string[] _arguments;
    private readonly ConcurrentQueue<string> _output = new();
    private Process? _process;

    private RedisServer(string binary, string[] arguments)
    {
        _binary = binary;
        _arguments = arguments;
        Directory = System.IO.Directory.CreateTempSubdirectory("idempotency-redis-").FullName;
    }

    /// <summary>Gets the port the server listens on, on 127.0.0.1.</summary>
    public int Port { get; private set; }

    /// <summary>Gets the server's working directory (deleted on dispose).</summary>
    public string Directory { get; }

    /// <summary>Gets the endpoint, <c>127.0.0.1:port</c>.</summary>
    public string EndPoint => $"127.0.0.1:{Port}";

    /// <summary>Gets whether the server process is running.</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Starts a server on a free loopback port and waits until it answers PING.</summary>
    /// <param name="arguments">Extra <c>redis-server</c> arguments, which override the defaults (for example <c>--maxmemory-policy allkeys-lru</c>).</param>
    public static async Task<RedisServer> StartAsync(params string[] arguments)
    {
        var server = new RedisServer(TestServerBinaries.RedisServer(), arguments);
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                server.Port = FreePort();
                try
                {
                    await server.StartProcessAsync();
                    return server;
                }
                catch (RedisServerExitedException) when (attempt < 5)
                {
                    // Most likely another process took the port between choosing it and binding it: choose again.
                }
            }
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>A StackExchange.Redis connection string for this server.</summary>
    /// <param name="options">Extra options, for example <c>asyncTimeout=1000</c>.</param>
    public string ConnectionString(string? options = null) => options is null ? EndPoint : $"{EndPoint},{options}";

    /// <summary>Kills the server (SIGKILL, like a crash) and waits for it to exit. Its data is lost.</summary>
    public async Task StopAsync()
    {
        if (_process is { } process)
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            await process.WaitForExitAsync();
            process.Dispose();
            _process = null;
        }
    }

    /// <summary>Freezes the server (SIGSTOP): it keeps its connections and data but answers nothing, like a stalled host.</summary>
    public Task PauseAsync() => SignalAsync("STOP");

    /// <summary>Lets a paused server run again (SIGCONT).</summary>
    public Task ResumeAsync() => SignalAsync("CONT");

    /// <summary>Starts the stopped server again on the same port and waits until it answers PING.</summary>
    public async Task RestartAsync()
    {
        await StopAsync();
        var deadline = DateTime.UtcNow + s_startTimeout;
        while (true)
        {
            try
            {
                await StartProcessAsync();
                return;
            }
            catch (RedisServerExitedException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100); // the port can take a moment to be free again
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temp directory left behind is harmless.
        }
    }

    private async Task SignalAsync(string signal)
    {
        var process = _process ?? throw new InvalidOperationException($"redis-server on port {Port} is not running.");
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-" + signal, process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))!;
        await kill.WaitForExitAsync();
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -{signal} {process.Id} exited with code {kill.ExitCode}.");
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private async Task StartProcessAsync()
    {
        var start = new ProcessStartInfo(_binary)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Directory,
        };
        string[] defaults =
        [
            "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--bind", "127.0.0.1",
            "--dir", Directory,
            "--save", string.Empty,
            "--appendonly", "no",
            "--maxmemory-policy", "noeviction",
            "--daemonize", "no",
            "--loglevel", "warning",
            "--logfile", string.Empty,
        ];
        foreach (var argument in defaults.Concat(_arguments))
        {
            start.ArgumentList.Add(argument);
        }

        _output.Clear();
        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Remember(e.Data);
        process.ErrorDataReceived += (_, e) => Remember(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        var deadline = DateTime.UtcNow + s_startTimeout;
        while (!await AnswersPingAsync())
        {
            if (process.HasExited)
            {
                await process.WaitForExitAsync();
                _process = null;
                throw new RedisServerExitedException($"redis-server exited with code {process.ExitCode} on port {Port}:{Environment.NewLine}{string.Join(Environment.NewLine, _output)}");
            }

            if (DateTime.UtcNow > deadline)
            {
                await StopAsync();
                throw new InvalidOperationException($"redis-server did not answer PING on port {Port} within {s_startTimeout.TotalSeconds} s:{Environment.NewLine}{string.Join(Environment.NewLine, _output)}");
            }

            await Task.Delay(20);
        }
    }

    private void Remember(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        while (_output.Count > 50 && _output.TryDequeue(out _))
        {
        }
    }

    private Task<bool> AnswersPingAsync() => AnswersPingAsync(Port);

    /// <summary>Whether a RESP server (redis-server, Garnet) on the loopback <paramref name="port"/> answers PING.</summary>
    internal static async Task<bool> AnswersPingAsync(int port)
    {
        try
        {
            using var client = new TcpClient();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
            var stream = client.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray(), timeout.Token);
            var buffer = new byte[64];
            var read = await stream.ReadAsync(buffer, timeout.Token);
            return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException)
        {
            return false;
        }
    }

    private sealed class RedisServerExitedException(string message) : Exception(message);
}
