using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Idempotency.Tests.Shared;
using Npgsql;

namespace Idempotency.PostgreSql.Tests.Infrastructure;

/// <summary>
/// A throw-away PostgreSQL 15 cluster: <c>initdb</c> into a temporary directory, <c>pg_ctl</c> on a free loopback port,
/// trust authentication, the Unix socket inside the directory. PostgreSQL refuses to run as root, so when the tests run
/// as root (CI) the cluster runs as the <c>postgres</c> system user that the Debian package creates.
/// </summary>
public sealed class PostgreSqlServer : IAsyncDisposable
{
    private const string SystemUser = "postgres";

    private readonly string _directory;
    private readonly string _dataDirectory;
    private readonly string _logFile;
    private readonly string[] _settings;
    private bool _running;

    private PostgreSqlServer(string directory, int port, string[] settings)
    {
        _directory = directory;
        _dataDirectory = Path.Combine(directory, "data");
        _logFile = Path.Combine(directory, "server.log");
        _settings = settings;
        Port = port;
    }

    /// <summary>Gets the loopback port the server listens on; it stays the same across <see cref="StopAsync"/> and <see cref="StartAsync()"/>.</summary>
    public int Port { get; }

    /// <summary>
    /// Creates and starts a new cluster. Fails (never skips) when the PostgreSQL 15 binaries are missing.
    /// </summary>
    /// <param name="settings">Extra <c>name=value</c> server settings.</param>
    public static async Task<PostgreSqlServer> CreateAsync(params string[] settings)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("The PostgreSQL store tests start PostgreSQL 15 from Debian's packages and run on Linux only.");
        }

        var initdb = TestServerBinaries.PostgresProgram("initdb");
        _ = TestServerBinaries.PostgresProgram("pg_ctl");

        // Under /tmp rather than $TMPDIR: the postgres user must be able to reach it, and the Unix socket path inside it
        // must stay under 108 bytes.
        var root = Directory.Exists("/tmp") ? "/tmp" : Path.GetTempPath();
        var directory = Path.Combine(root, "idempotency-pg-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        try
        {
            if (Environment.IsPrivilegedProcess)
            {
                await RunAsync("chown", [$"{SystemUser}:{SystemUser}", directory], asSystemUser: false);
            }

            await RunAsync(initdb, ["-D", Path.Combine(directory, "data"), "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"], Environment.IsPrivilegedProcess);
        }
        catch
        {
            Directory.Delete(directory, recursive: true);
            throw;
        }

        // A port found free may be taken before the server binds it: try a few.
        for (var attempt = 1; ; attempt++)
        {
            var server = new PostgreSqlServer(directory, FreeLoopbackPort(), settings);
            try
            {
                await server.StartAsync();
                return server;
            }
            catch (InvalidOperationException) when (attempt < 3)
            {
            }
            catch
            {
                Directory.Delete(directory, recursive: true);
                throw;
            }
        }
    }

    /// <summary>A connection string to <paramref name="database"/> as the superuser.</summary>
    public string ConnectionString(string database = "postgres", string? extra = null) =>
        $"Host=127.0.0.1;Port={Port};Username=postgres;Database={database};Timeout=5;Command Timeout=30;Include Error Detail=true" +
        (extra is null ? string.Empty : ";" + extra);

    /// <summary>Starts the (stopped) server again on the same port and data directory.</summary>
    public async Task StartAsync()
    {
        var options = new StringBuilder(string.Create(CultureInfo.InvariantCulture, $"-p {Port} -k {_directory} -c listen_addresses=127.0.0.1"));
        foreach (var setting in s_defaultSettings.Concat(_settings))
        {
            options.Append(" -c ").Append(setting);
        }

        try
        {
            await RunAsync(TestServerBinaries.PostgresProgram("pg_ctl"), ["-D", _dataDirectory, "-l", _logFile, "-w", "-t", "60", "-o", options.ToString(), "start"], Environment.IsPrivilegedProcess);
        }
        catch (InvalidOperationException ex)
        {
            throw new InvalidOperationException($"{ex.Message}\nServer log:\n{ReadLog()}", ex);
        }

        _running = true;
    }

    /// <summary>Stops the server at once, like a crash (<c>pg_ctl stop -m immediate</c>); the data directory stays.</summary>
    public async Task StopAsync()
    {
        _running = false;
        await RunAsync(TestServerBinaries.PostgresProgram("pg_ctl"), ["-D", _dataDirectory, "-m", "immediate", "-w", "stop"], Environment.IsPrivilegedProcess);
    }

    /// <summary>Creates a database and returns its name.</summary>
    public async Task<string> CreateDatabaseAsync(string? name = null)
    {
        name ??= "db_" + Guid.NewGuid().ToString("N");
        await using var connection = new NpgsqlConnection(ConnectionString());
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
        await command.ExecuteNonQueryAsync();
        return name;
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        if (_running)
        {
            try
            {
                await StopAsync();
            }
            catch (InvalidOperationException)
            {
                // Already gone; the directory is removed below either way.
            }
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static readonly string[] s_defaultSettings =
    [
        "max_connections=300",
        "fsync=off", // throw-away cluster: durability against OS crashes is not under test
        "full_page_writes=off",
        "shared_preload_libraries=pg_stat_statements",
    ];

    private string ReadLog()
    {
        try
        {
            return File.ReadAllText(_logFile);
        }
        catch (IOException ex)
        {
            return $"(no log: {ex.Message})";
        }
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task RunAsync(string fileName, string[] arguments, bool asSystemUser)
    {
        var startInfo = new ProcessStartInfo
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = "/",
        };
        if (asSystemUser)
        {
            startInfo.FileName = "runuser";
            startInfo.ArgumentList.Add("-u");
            startInfo.ArgumentList.Add(SystemUser);
            startInfo.ArgumentList.Add("--");
            startInfo.ArgumentList.Add(fileName);
        }
        else
        {
            startInfo.FileName = fileName;
        }

        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"{string.Join(' ', startInfo.ArgumentList.Prepend(startInfo.FileName))} exited with {process.ExitCode}.\n{await stdout}\n{await stderr}");
        }
    }
}
