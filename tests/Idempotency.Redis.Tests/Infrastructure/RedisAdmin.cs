using System.Globalization;
using StackExchange.Redis;

namespace Idempotency.Redis.Tests.Infrastructure;

/// <summary>A connection of the test's own (admin commands allowed) to look at what the store did on a server.</summary>
public sealed class RedisAdmin : IAsyncDisposable
{
    // Commands that the observer itself or a connection's upkeep sends; everything else on the server came from the store.
    private static readonly HashSet<string> s_notFromTheStore = new(StringComparer.OrdinalIgnoreCase) { "info", "config", "ping", "echo" };

    private readonly ConnectionMultiplexer _multiplexer;

    private RedisAdmin(ConnectionMultiplexer multiplexer)
    {
        _multiplexer = multiplexer;
    }

    public IDatabase Database => _multiplexer.GetDatabase();

    public IServer Server => _multiplexer.GetServers()[0];

    public IConnectionMultiplexer Multiplexer => _multiplexer;

    public static async Task<RedisAdmin> ConnectAsync(RedisServer server) =>
        new(await ConnectionMultiplexer.ConnectAsync(server.ConnectionString("allowAdmin=true")));

    /// <summary>Zeroes the server's command statistics (<c>CONFIG RESETSTAT</c>).</summary>
    public Task ResetCommandStatsAsync() => Server.ConfigResetStatisticsAsync();

    /// <summary>The commands the server ran since the last reset, with their counts, leaving out the observer's and keep-alives.</summary>
    public async Task<IReadOnlyDictionary<string, long>> CommandsSinceResetAsync()
    {
        var counts = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var group in await Server.InfoAsync("commandstats"))
        {
            foreach (var (name, value) in group)
            {
                // cmdstat_evalsha:calls=2,usec=40,usec_per_call=20.00,rejected_calls=0,failed_calls=0
                var command = name.Replace("cmdstat_", string.Empty, StringComparison.Ordinal);
                if (s_notFromTheStore.Contains(command))
                {
                    continue;
                }

                var calls = value.Split(',').Single(part => part.StartsWith("calls=", StringComparison.Ordinal));
                counts[command] = long.Parse(calls["calls=".Length..], CultureInfo.InvariantCulture);
            }
        }

        return counts;
    }

    public ValueTask DisposeAsync() => _multiplexer.DisposeAsync();
}
