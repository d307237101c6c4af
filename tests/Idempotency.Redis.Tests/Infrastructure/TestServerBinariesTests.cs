using Idempotency.Tests.Shared;

namespace Idempotency.Redis.Tests.Infrastructure;

/// <summary>How the tests find the servers they start: the IDEMPOTENCY_* variables, the defaults, and the failures.</summary>
public sealed class TestServerBinariesTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("idempotency-binaries-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void RedisServer_IsTheVariablesPath_WhenItPointsAtAFile()
    {
        var binary = Touch("my-redis");

        Assert.Equal(binary, TestServerBinaries.RedisServer(Environment(("IDEMPOTENCY_REDIS_SERVER", binary), ("PATH", "/nowhere"))));
    }

    [Fact]
    public void RedisServer_IsFoundOnPath_WhenTheVariableIsUnset()
    {
        var binary = Touch("redis-server");

        Assert.Equal(binary, TestServerBinaries.RedisServer(Environment(("PATH", "/nowhere:" + _directory))));
    }

    [Fact]
    public void RedisServer_FailsNamingTheVariableAndTheInstallScript_WhenNotOnPath()
    {
        var error = Assert.Throws<InvalidOperationException>(() => TestServerBinaries.RedisServer(Environment(("PATH", _directory))));

        Assert.Contains("IDEMPOTENCY_REDIS_SERVER", error.Message, StringComparison.Ordinal);
        Assert.Contains("scripts/install-test-servers.sh", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RedisServer_FailsNamingTheVariable_WhenItPointsNowhere()
    {
        Touch("redis-server");
        var missing = Path.Combine(_directory, "missing");

        var error = Assert.Throws<InvalidOperationException>(
            () => TestServerBinaries.RedisServer(Environment(("IDEMPOTENCY_REDIS_SERVER", missing), ("PATH", _directory))));

        Assert.Contains($"IDEMPOTENCY_REDIS_SERVER is set to {missing}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RedisCli_IsTheOneBesideRedisServer_WhenTheVariableIsUnset()
    {
        var server = Touch("redis-server");
        var cli = Touch("redis-cli");

        Assert.Equal(cli, TestServerBinaries.RedisCli(Environment(("IDEMPOTENCY_REDIS_SERVER", server), ("PATH", "/nowhere"))));
    }

    [Fact]
    public void RedisCli_FailsNamingTheVariableAndTheInstallScript_WhenNeitherBesideRedisServerNorOnPath()
    {
        var server = Touch("redis-server");

        var error = Assert.Throws<InvalidOperationException>(
            () => TestServerBinaries.RedisCli(Environment(("IDEMPOTENCY_REDIS_SERVER", server), ("PATH", "/nowhere"))));

        Assert.Contains("IDEMPOTENCY_REDIS_CLI", error.Message, StringComparison.Ordinal);
        Assert.Contains("scripts/install-test-servers.sh", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PostgresProgram_IsInTheVariablesDirectory_WhenSet()
    {
        var initdb = Touch("initdb");

        Assert.Equal(initdb, TestServerBinaries.PostgresProgram("initdb", Environment(("IDEMPOTENCY_POSTGRES_BIN", _directory))));
    }

    [Fact]
    public void PostgresProgram_FailsNamingTheVariable_WhenTheProgramIsMissing()
    {
        var error = Assert.Throws<InvalidOperationException>(
            () => TestServerBinaries.PostgresProgram("pg_ctl", Environment(("IDEMPOTENCY_POSTGRES_BIN", _directory))));

        Assert.Contains(Path.Combine(_directory, "pg_ctl"), error.Message, StringComparison.Ordinal);
        Assert.Contains("IDEMPOTENCY_POSTGRES_BIN", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Nginx_IsTheVariablesPath_WhenItPointsAtAFile()
    {
        var binary = Touch("my-nginx");

        Assert.Equal(binary, TestServerBinaries.Nginx(Environment(("IDEMPOTENCY_NGINX", binary))));
    }

    [Fact]
    public void Nginx_FailsNamingTheVariable_WhenItPointsNowhere()
    {
        var error = Assert.Throws<InvalidOperationException>(
            () => TestServerBinaries.Nginx(Environment(("IDEMPOTENCY_NGINX", Path.Combine(_directory, "missing")))));

        Assert.Contains("IDEMPOTENCY_NGINX is set to", error.Message, StringComparison.Ordinal);
    }

    private string Touch(string name)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllText(path, string.Empty);
        return path;
    }

    private static Func<string, string?> Environment(params (string Name, string Value)[] variables) =>
        name => variables.FirstOrDefault(v => v.Name == name).Value;
}
