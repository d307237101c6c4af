namespace Idempotency.Tests.Shared;

/// <summary>
/// Where the tests find the real servers they start (PostgreSQL 15, redis-server, nginx): the one place, linked into
/// every test project that starts one. Each environment variable overrides its default; scripts/install-test-servers.sh
/// honours the same variables. A missing binary fails the test with a message naming the variable and the install
/// command: the tests never skip for want of a server.
/// </summary>
internal static class TestServerBinaries
{
    /// <summary>The directory holding PostgreSQL's <c>initdb</c> and <c>pg_ctl</c>; default <see cref="DefaultPostgresBin"/>.</summary>
    public const string PostgresBinVariable = "IDEMPOTENCY_POSTGRES_BIN";

    /// <summary>The <c>redis-server</c> binary; default <c>redis-server</c> on PATH.</summary>
    public const string RedisServerVariable = "IDEMPOTENCY_REDIS_SERVER";

    /// <summary>The <c>redis-cli</c> binary (Redis Cluster tests); default the one beside <c>redis-server</c>, else <c>redis-cli</c> on PATH.</summary>
    public const string RedisCliVariable = "IDEMPOTENCY_REDIS_CLI";

    /// <summary>The <c>nginx</c> binary; default <see cref="DefaultNginx"/>, else <c>nginx</c> on PATH.</summary>
    public const string NginxVariable = "IDEMPOTENCY_NGINX";

    /// <summary>Microsoft Garnet's <c>garnet-server</c> (the dotnet tool); default on PATH, else in <c>~/.dotnet/tools</c>.</summary>
    public const string GarnetServerVariable = "IDEMPOTENCY_GARNET_SERVER";

    public const string DefaultPostgresBin = "/usr/lib/postgresql/15/bin";
    public const string DefaultNginx = "/usr/sbin/nginx";
    public const string InstallCommand = "scripts/install-test-servers.sh";

    /// <summary>The path of a PostgreSQL program (<c>initdb</c>, <c>pg_ctl</c>), checked to exist.</summary>
    public static string PostgresProgram(string name) => PostgresProgram(name, Environment.GetEnvironmentVariable);

    /// <summary>The <c>redis-server</c> binary, checked to exist.</summary>
    public static string RedisServer() => RedisServer(Environment.GetEnvironmentVariable);

    /// <summary>The <c>redis-cli</c> binary, checked to exist.</summary>
    public static string RedisCli() => RedisCli(Environment.GetEnvironmentVariable);

    /// <summary>The <c>nginx</c> binary, checked to exist.</summary>
    public static string Nginx() => Nginx(Environment.GetEnvironmentVariable);

    /// <summary>The <c>garnet-server</c> binary, checked to exist.</summary>
    public static string GarnetServer() => GarnetServer(Environment.GetEnvironmentVariable);

    internal static string GarnetServer(Func<string, string?> environment) =>
        Configured(GarnetServerVariable, "garnet-server", environment)
        ?? OnPath("garnet-server", environment)
        ?? (environment("HOME") is { Length: > 0 } home && File.Exists(Path.Combine(home, ".dotnet", "tools", "garnet-server"))
            ? Path.Combine(home, ".dotnet", "tools", "garnet-server")
            : null)
        ?? throw Missing("garnet-server", "PATH or ~/.dotnet/tools", GarnetServerVariable, "the garnet-server binary (dotnet tool install --global garnet-server)", environment);

    internal static string PostgresProgram(string name, Func<string, string?> environment)
    {
        var directory = environment(PostgresBinVariable) is { Length: > 0 } configured ? configured : DefaultPostgresBin;
        var path = Path.Combine(directory, name);
        return File.Exists(path)
            ? path
            : throw Missing($"PostgreSQL 15's {name}", path, PostgresBinVariable, "the directory holding initdb and pg_ctl", environment);
    }

    internal static string RedisServer(Func<string, string?> environment) =>
        Configured(RedisServerVariable, "redis-server", environment)
        ?? OnPath("redis-server", environment)
        ?? throw Missing("redis-server", "PATH", RedisServerVariable, "the redis-server binary", environment);

    internal static string RedisCli(Func<string, string?> environment) =>
        Configured(RedisCliVariable, "redis-cli", environment)
        ?? Beside(RedisServer(environment), "redis-cli")
        ?? OnPath("redis-cli", environment)
        ?? throw Missing("redis-cli", "beside redis-server or on PATH", RedisCliVariable, "the redis-cli binary", environment);

    internal static string Nginx(Func<string, string?> environment) =>
        Configured(NginxVariable, "nginx", environment)
        ?? (File.Exists(DefaultNginx) ? DefaultNginx : null)
        ?? OnPath("nginx", environment)
        ?? throw Missing("nginx", $"{DefaultNginx} or PATH", NginxVariable, "the nginx binary", environment);

    private static string? Configured(string variable, string server, Func<string, string?> environment)
    {
        if (environment(variable) is not { Length: > 0 } path)
        {
            return null;
        }

        return File.Exists(path)
            ? path
            : throw new InvalidOperationException(
                $"{variable} is set to {path}, but there is no {server} there. Point {variable} at the {server} binary, " +
                $"or unset it to use the default.");
    }

    private static string? Beside(string binary, string name) =>
        Path.GetDirectoryName(binary) is { Length: > 0 } directory && File.Exists(Path.Combine(directory, name)) ? Path.Combine(directory, name) : null;

    private static string? OnPath(string name, Func<string, string?> environment)
    {
        foreach (var directory in (environment("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private static InvalidOperationException Missing(string server, string lookedAt, string variable, string what, Func<string, string?> environment) =>
        new(environment(variable) is { Length: > 0 } configured
            ? $"{server} was not found: {lookedAt} is missing ({variable}={configured}). Point {variable} at {what}, or unset it to use the default."
            : $"{server} was not found ({lookedAt}). These tests run against a real server: install it with `{InstallCommand}` " +
              $"(./test.sh runs it), or set {variable} to {what}.");
}
