using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Idempotency.Tests.Shared;

namespace Idempotency.AspNetCore.Tests.Mirroring.ProxyConfiguration;

/// <summary>
/// A real nginx, started by the test as a non-daemon process from a generated configuration in a temporary directory
/// (pid, logs and temp files inside it), listening on a free 127.0.0.1 port.
/// </summary>
internal sealed class NginxProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;

    private NginxProcess(Process process, string directory, int port)
    {
        _process = process;
        _directory = directory;
        Port = port;
    }

    public int Port { get; }

    public Uri Address => new($"http://127.0.0.1:{Port}/");

    public string ErrorLog => ReadLog("error.log");

    /// <summary>Starts nginx with <paramref name="http"/> (given the port to listen on) as the body of its <c>http { }</c> block.</summary>
    public static async Task<NginxProcess> StartAsync(Func<int, string> http)
    {
        RequireBinary();
        var directory = Directory.CreateTempSubdirectory("idempotency-nginx-").FullName;
        var port = FreePort();
        await File.WriteAllTextAsync(Path.Combine(directory, "nginx.conf"), Config(directory, http(port)));

        var process = Process.Start(StartInfo(directory, "-g", "daemon off;"))
            ?? throw new InvalidOperationException("nginx did not start.");
        var nginx = new NginxProcess(process, directory, port);
        await nginx.WaitUntilListeningAsync();
        return nginx;
    }

    /// <summary>Runs <c>nginx -t</c> on <paramref name="http"/> as the body of an <c>http { }</c> block: the exit code and what nginx said.</summary>
    public static async Task<(int ExitCode, string Output)> TestConfigAsync(string http)
    {
        RequireBinary();
        var directory = Directory.CreateTempSubdirectory("idempotency-nginx-t-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(directory, "nginx.conf"), Config(directory, http));
            using var process = Process.Start(StartInfo(directory, "-t")) ?? throw new InvalidOperationException("nginx did not start.");
            var stderr = process.StandardError.ReadToEndAsync();
            var stdout = process.StandardOutput.ReadToEndAsync();
            await process.WaitForExitAsync();
            return (process.ExitCode, await stdout + await stderr);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    public string ReadLog(string name)
    {
        var path = Path.Combine(_directory, name);
        return File.Exists(path) ? File.ReadAllText(path) : string.Empty;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            // SIGTERM to the master (our child) through nginx itself: it stops its workers, then exits.
            using (var stop = Process.Start(StartInfo(_directory, "-s", "stop")))
            {
                await stop!.WaitForExitAsync();
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
            }
        }

        _process.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private static void RequireBinary() => _ = TestServerBinaries.Nginx();

    private static ProcessStartInfo StartInfo(string directory, params string[] arguments)
    {
        var info = new ProcessStartInfo(TestServerBinaries.Nginx())
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var argument in (string[])["-p", directory + "/", "-c", Path.Combine(directory, "nginx.conf"), "-e", Path.Combine(directory, "error.log"), .. arguments])
        {
            info.ArgumentList.Add(argument);
        }

        return info;
    }

    private static string Config(string directory, string http) => $$"""
        {{(Environment.UserName == "root" ? "user root;" : string.Empty)}}
        worker_processes 1;
        pid {{directory}}/nginx.pid;
        error_log {{directory}}/error.log info;
        events {
            worker_connections 256;
        }
        http {
            log_format mirror '$request_method $request_uri status=$status';
            access_log {{directory}}/access.log mirror;
            client_body_temp_path {{directory}}/client_body;
            proxy_temp_path {{directory}}/proxy;
            fastcgi_temp_path {{directory}}/fastcgi;
            uwsgi_temp_path {{directory}}/uwsgi;
            scgi_temp_path {{directory}}/scgi;
        {{http}}
        }
        """;

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private async Task WaitUntilListeningAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            if (_process.HasExited)
            {
                var stderr = await _process.StandardError.ReadToEndAsync();
                Assert.Fail($"nginx exited with code {_process.ExitCode.ToString(CultureInfo.InvariantCulture)}: {stderr}\n{ErrorLog}");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
        }
    }
}
