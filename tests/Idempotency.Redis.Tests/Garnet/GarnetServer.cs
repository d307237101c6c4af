using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Idempotency.Tests.Shared;

namespace Idempotency.Redis.Tests.Garnet;

/// <summary>
/// A real Microsoft Garnet (the <c>garnet-server</c> dotnet tool) for tests: a free port on 127.0.0.1, Lua enabled with
/// scripts run as transactions (<c>--lua --lua-transaction-mode</c>, as docs/stores/redis.md asks), a small memory
/// budget, nothing persisted unless the caller adds <c>--storage-tier</c>.
/// </summary>
public sealed class GarnetServer : IAsyncDisposable
{
    private static readonly TimeSpan s_startTimeout = TimeSpan.FromSeconds(60);

    private readonly ConcurrentQueue<string> _output = new();
    private Process? _process;

    private GarnetServer() => Directory = System.IO.Directory.CreateTempSubdirectory("idempotency-garnet-").FullName;

    public int Port { get; private set; }

    /// <summary>Gets the server's working directory (deleted on dispose); <c>--logdir</c> for a storage tier goes here.</summary>
    public string Directory { get; }

    public string EndPoint => $"127.0.0.1:{Port}";

    public string ConnectionString(string? options = null) => options is null ? EndPoint : $"{EndPoint},{options}";

    /// <summary>Starts Garnet and waits until it answers PING.</summary>
    /// <param name="storageTier">Adds <c>--storage-tier --logdir</c> (records that leave memory spill to disk).</param>
    public static async Task<GarnetServer> StartAsync(bool storageTier = false)
    {
        var server = new GarnetServer();
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                server.Port = FreePort();
                try
                {
                    await server.StartProcessAsync(storageTier);
                    return server;
                }
                catch (IOException) when (attempt < 5)
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

    public async ValueTask DisposeAsync()
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

        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temp directory left behind is harmless.
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private async Task StartProcessAsync(bool storageTier)
    {
        var start = new ProcessStartInfo(TestServerBinaries.GarnetServer())
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Directory,
        };
        List<string> arguments =
        [
            "--bind", "127.0.0.1",
            "--port", Port.ToString(CultureInfo.InvariantCulture),
            "--lua", "--lua-transaction-mode",
            "--memory", "256m", "--index", "16m",
            "-q", "--logger-level", "Warning",
        ];
        if (storageTier)
        {
            arguments.AddRange(["--storage-tier", "--logdir", Path.Combine(Directory, "log")]);
        }

        foreach (var argument in arguments)
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
                throw new IOException($"garnet-server exited with code {process.ExitCode} on port {Port}:{Environment.NewLine}{string.Join(Environment.NewLine, _output)}");
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"garnet-server did not answer PING on port {Port} within {s_startTimeout.TotalSeconds} s:{Environment.NewLine}{string.Join(Environment.NewLine, _output)}");
            }

            await Task.Delay(50);
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

    private Task<bool> AnswersPingAsync() => Infrastructure.RedisServer.AnswersPingAsync(Port);
}

/// <summary>One Garnet shared by the Garnet test collection.</summary>
public sealed class GarnetServerFixture : IAsyncLifetime
{
    private GarnetServer? _server;

    public GarnetServer Server => _server ?? throw new InvalidOperationException("Garnet has not started.");

    public async Task InitializeAsync() => _server = await GarnetServer.StartAsync();

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

/// <summary>The Garnet test classes share the fixture's server and run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class GarnetCollection : ICollectionFixture<GarnetServerFixture>
{
    public const string Name = "Garnet server";
}
