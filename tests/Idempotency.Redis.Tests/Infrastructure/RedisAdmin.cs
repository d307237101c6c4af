using StackExchange.Redis;

namespace Idempotency.Redis.Tests.Infrastructure;

/// <summary>A connection of the test's own (admin commands allowed) to look at what the store did on a server.</summary>
public sealed class RedisAdmin : IAsyncDisposable
{
    private const string ObserverName = "observer";

    // The slow log names the client of each command; commands run by a Lua script come from this pseudo-client.
    private const string ScriptClientAddress = "?:0";

    private static readonly HashSet<string> s_withSubcommand = new(StringComparer.Ordinal) { "script", "config", "client", "cluster", "slowlog" };

    private readonly ConnectionMultiplexer _multiplexer;

    private RedisAdmin(ConnectionMultiplexer multiplexer)
    {
        _multiplexer = multiplexer;
    }

    public IDatabase Database => _multiplexer.GetDatabase();

    public IServer Server => _multiplexer.GetServers()[0];

    public IConnectionMultiplexer Multiplexer => _multiplexer;

    public static async Task<RedisAdmin> ConnectAsync(RedisServer server) =>
        new(await ConnectionMultiplexer.ConnectAsync(server.ConnectionString($"allowAdmin=true,name={ObserverName}")));

    /// <summary>
    /// Starts counting the commands that clients send: every command goes to the slow log (threshold 0), which the
    /// server keeps per client, apart from the commands scripts run inside it. Then clears the log.
    /// </summary>
    public async Task StartCountingCommandsAsync()
    {
        await Server.ExecuteAsync("CONFIG", "SET", "slowlog-log-slower-than", "0");
        await Server.ExecuteAsync("CONFIG", "SET", "slowlog-max-len", "10000");
        await Server.ExecuteAsync("SLOWLOG", "RESET");
    }

    /// <summary>
    /// The commands that clients other than this observer sent since <see cref="StartCountingCommandsAsync"/>, by name:
    /// each is one round trip. Commands run inside scripts are not counted (they are part of their EVALSHA), nor are
    /// connection keep-alives (PING, ECHO).
    /// </summary>
    public async Task<IReadOnlyDictionary<string, long>> CommandsSinceResetAsync()
    {
        var counts = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var entries = (RedisResult[])(await Server.ExecuteAsync("SLOWLOG", "GET", "-1"))!;
        foreach (var entry in entries)
        {
            // id, unix time, microseconds, arguments, client address, client name
            var fields = (RedisResult[])entry!;
            var arguments = (RedisResult[])fields[3]!;
            var address = (string?)fields[4];
            var client = (string?)fields[5];
            var command = ((string?)arguments[0] ?? string.Empty).ToLowerInvariant();
            if (address == ScriptClientAddress || client == ObserverName || command is "ping" or "echo")
            {
                continue;
            }

            if (s_withSubcommand.Contains(command) && arguments.Length > 1)
            {
                command += "|" + ((string?)arguments[1] ?? string.Empty).ToLowerInvariant();
            }

            counts[command] = counts.GetValueOrDefault(command) + 1;
        }

        return counts;
    }

    public ValueTask DisposeAsync() => _multiplexer.DisposeAsync();
}
