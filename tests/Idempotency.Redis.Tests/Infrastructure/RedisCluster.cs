using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Idempotency.Tests.Shared;
using System.Text;

namespace Idempotency.Redis.Tests.Infrastructure;

/// <summary>
/// A real Redis Cluster for tests: six <c>redis-server --cluster-enabled yes</c> processes on free loopback ports
/// (three primaries with one replica each), joined with <c>redis-cli --cluster create --cluster-replicas 1</c>.
/// Nodes can be killed (SIGKILL, like a crash) to force a fail-over; everything is stopped and deleted on dispose.
/// </summary>
public sealed class RedisCluster : IAsyncDisposable
{
    private const int Nodes = 6;
    private static readonly TimeSpan s_readyTimeout = TimeSpan.FromSeconds(30);

    private readonly List<RedisServer> _servers = [];

    private RedisCluster()
    {
    }

    /// <summary>Gets every node, in the order they were started (the first three became primaries).</summary>
    public IReadOnlyList<RedisServer> Servers => _servers;

    /// <summary>Gets a StackExchange.Redis connection string naming every node.</summary>
    public string ConnectionString(string? options = null)
    {
        var endPoints = string.Join(",", _servers.Select(s => s.EndPoint));
        return options is null ? endPoints : $"{endPoints},{options}";
    }

    /// <summary>Starts six nodes, creates the cluster and waits until every node reports <c>cluster_state:ok</c> with its replicas in sync.</summary>
    /// <param name="nodeTimeout">The cluster's <c>cluster-node-timeout</c>: how long a primary must be unreachable before its replica takes over.</param>
    public static async Task<RedisCluster> StartAsync(TimeSpan? nodeTimeout = null)
    {
        var cli = TestServerBinaries.RedisCli();
        var cluster = new RedisCluster();
        try
        {
            var timeout = ((long)(nodeTimeout ?? TimeSpan.FromSeconds(1)).TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
            for (var i = 0; i < Nodes; i++)
            {
                // The cluster bus gets a port of its own: the default (port + 10000) may be out of range or taken.
                cluster._servers.Add(await RedisServer.StartAsync(
                    "--cluster-enabled", "yes",
                    "--cluster-config-file", "nodes.conf",
                    "--cluster-node-timeout", timeout,
                    "--cluster-port", FreePort().ToString(CultureInfo.InvariantCulture)));
            }

            string[] create = ["--cluster", "create", .. cluster._servers.Select(s => s.EndPoint), "--cluster-replicas", "1", "--cluster-yes"];
            await RunAsync(cli, create);
            await cluster.WaitUntilReadyAsync();
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs <c>redis-cli</c> with <paramref name="arguments"/> and returns its output; fails when it exits with an error.</summary>
    public static async Task<string> RunAsync(string cli, params string[] arguments)
    {
        var start = new ProcessStartInfo(cli) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return process.ExitCode == 0
            ? await output
            : throw new InvalidOperationException($"redis-cli {string.Join(' ', arguments)} exited with code {process.ExitCode}:{Environment.NewLine}{await output}{await error}");
    }

    /// <summary>Waits until every running node reports <c>cluster_state:ok</c>, agrees on who serves every slot, and every replica is in sync.</summary>
    /// <param name="requireReplicas">Whether every primary must have a replica connected (not after a replica was killed or promoted).</param>
    public async Task WaitUntilReadyAsync(bool requireReplicas = true)
    {
        var deadline = DateTime.UtcNow + s_readyTimeout;
        string? last = null;
        while (DateTime.UtcNow < deadline)
        {
            last = await NotReadyBecauseAsync(requireReplicas);
            if (last is null)
            {
                return;
            }

            await Task.Delay(100);
        }

        throw new InvalidOperationException($"The Redis Cluster was not ready within {s_readyTimeout.TotalSeconds} s: {last}");
    }

    /// <summary>
    /// Sends one command to one node over a short-lived plain TCP connection (a StackExchange.Redis multiplexer would
    /// discover and connect to the whole cluster) and returns the reply: a simple or bulk string, an integer as text, or
    /// an array's elements one a line.
    /// </summary>
    public static async Task<string> CommandAsync(RedisServer node, params string[] command)
    {
        using var client = new TcpClient();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await client.ConnectAsync(IPAddress.Loopback, node.Port, timeout.Token);
        var stream = client.GetStream();
        var request = new StringBuilder().Append(CultureInfo.InvariantCulture, $"*{command.Length}\r\n");
        foreach (var part in command)
        {
            request.Append(CultureInfo.InvariantCulture, $"${Encoding.UTF8.GetByteCount(part)}\r\n{part}\r\n");
        }

        await stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToString()), timeout.Token);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return await ReadReplyAsync(reader, node, command, timeout.Token);
    }

    /// <summary>The cluster slot of <paramref name="key"/> (CRC16 of the key, or of its first non-empty <c>{hash tag}</c>, mod 16384).</summary>
    public static int HashSlot(string key)
    {
        var bytes = Encoding.UTF8.GetBytes(key);
        var open = Array.IndexOf(bytes, (byte)'{');
        if (open >= 0 && Array.IndexOf(bytes, (byte)'}', open + 1) is var close && close > open + 1)
        {
            bytes = bytes[(open + 1)..close];
        }

        var crc = 0;
        foreach (var b in bytes)
        {
            crc ^= b << 8;
            for (var bit = 0; bit < 8; bit++)
            {
                crc = (crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1;
            }
        }

        return crc & 0x3FFF;
    }

    /// <summary>The running node whose <c>CLUSTER NODES</c> line says <c>myself,master</c> and serves <paramref name="slot"/>.</summary>
    public async Task<RedisServer> PrimaryOfSlotAsync(int slot)
    {
        foreach (var node in _servers.Where(s => s.IsRunning))
        {
            var nodes = await CommandAsync(node, "CLUSTER", "NODES");
            var myself = nodes.Split('\n').First(line => line.Contains("myself", StringComparison.Ordinal));
            if (myself.Contains("master", StringComparison.Ordinal) && ServesSlot(myself, slot))
            {
                return node;
            }
        }

        throw new InvalidOperationException($"No running primary serves slot {slot}.");
    }

    /// <summary>The replica of <paramref name="primary"/>.</summary>
    public async Task<RedisServer> ReplicaOfAsync(RedisServer primary)
    {
        var id = await CommandAsync(primary, "CLUSTER", "MYID");
        foreach (var node in _servers.Where(s => s.IsRunning && s != primary))
        {
            var info = await CommandAsync(node, "INFO", "replication");
            if (info.Contains("role:slave", StringComparison.Ordinal) && info.Contains($"master_port:{primary.Port}", StringComparison.Ordinal))
            {
                return node;
            }
        }

        throw new InvalidOperationException($"The primary {id} at {primary.EndPoint} has no running replica.");
    }

    /// <summary>
    /// Moves <paramref name="slot"/> to another primary the way <c>redis-cli --cluster reshard</c> does (SETSLOT
    /// IMPORTING and MIGRATING, MIGRATE in batches, SETSLOT NODE), slowly: a pause after each batch keeps the slot
    /// migrating for a while, so that clients meet ASK as well as MOVED.
    /// </summary>
    /// <returns>The primary that serves the slot afterwards.</returns>
    public async Task<RedisServer> MigrateSlotAsync(int slot, TimeSpan pauseBetweenBatches)
    {
        var source = await PrimaryOfSlotAsync(slot);
        var primaries = new List<RedisServer>();
        foreach (var node in _servers.Where(s => s.IsRunning))
        {
            if ((await CommandAsync(node, "INFO", "replication")).Contains("role:master", StringComparison.Ordinal))
            {
                primaries.Add(node);
            }
        }

        var target = primaries.First(p => p != source);
        var sourceId = await CommandAsync(source, "CLUSTER", "MYID");
        var targetId = await CommandAsync(target, "CLUSTER", "MYID");
        var slotText = slot.ToString(CultureInfo.InvariantCulture);
        await CommandAsync(target, "CLUSTER", "SETSLOT", slotText, "IMPORTING", sourceId);
        await CommandAsync(source, "CLUSTER", "SETSLOT", slotText, "MIGRATING", targetId);
        while (true)
        {
            var keys = (await CommandAsync(source, "CLUSTER", "GETKEYSINSLOT", slotText, "20")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            if (keys.Length == 0)
            {
                break;
            }

            await CommandAsync(source, ["MIGRATE", "127.0.0.1", target.Port.ToString(CultureInfo.InvariantCulture), string.Empty, "0", "5000", "KEYS", .. keys]);
            await Task.Delay(pauseBetweenBatches);
        }

        // The target first, so that the slot is never served by nobody; then everyone else learns it.
        await CommandAsync(target, "CLUSTER", "SETSLOT", slotText, "NODE", targetId);
        await CommandAsync(source, "CLUSTER", "SETSLOT", slotText, "NODE", targetId);
        foreach (var primary in primaries.Where(p => p != source && p != target))
        {
            await CommandAsync(primary, "CLUSTER", "SETSLOT", slotText, "NODE", targetId);
        }

        return target;
    }

    /// <summary>Waits until <paramref name="node"/> reports itself a primary (after a fail-over to it).</summary>
    public static async Task WaitUntilPrimaryAsync(RedisServer node)
    {
        var deadline = DateTime.UtcNow + s_readyTimeout;
        while (!(await CommandAsync(node, "INFO", "replication")).Contains("role:master", StringComparison.Ordinal))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"{node.EndPoint} did not become a primary within {s_readyTimeout.TotalSeconds} s.");
            }

            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var server in _servers)
        {
            await server.DisposeAsync();
        }
    }

    // Simple strings, integers and bulk strings as text; an array as its elements' texts, one a line.
    private static async Task<string> ReadReplyAsync(StreamReader reader, RedisServer node, string[] command, CancellationToken cancellationToken)
    {
        var header = await reader.ReadLineAsync(cancellationToken) ?? throw new IOException($"{node.EndPoint} closed the connection.");
        switch (header[0])
        {
            case '+' or ':':
                return header[1..];
            case '-':
                throw new InvalidOperationException($"{node.EndPoint} answered {string.Join(' ', command)} with {header[1..]}");
            case '$':
                var length = int.Parse(header[1..], CultureInfo.InvariantCulture);
                if (length < 0)
                {
                    return string.Empty;
                }

                var buffer = new char[length + 2];
                var read = 0;
                while (read < buffer.Length)
                {
                    // UTF-8 and ASCII agree on what these commands return.
                    var chunk = await reader.ReadAsync(buffer.AsMemory(read, buffer.Length - read), cancellationToken);
                    read += chunk > 0 ? chunk : throw new IOException($"{node.EndPoint} closed the connection.");
                }

                return new string(buffer, 0, length);
            case '*':
                var elements = new List<string>();
                for (var count = int.Parse(header[1..], CultureInfo.InvariantCulture); elements.Count < count;)
                {
                    elements.Add(await ReadReplyAsync(reader, node, command, cancellationToken));
                }

                return string.Join('\n', elements);
            default:
                throw new InvalidOperationException($"{node.EndPoint} answered {string.Join(' ', command)} with an unexpected reply: {header}");
        }
    }

    private static bool ServesSlot(string nodesLine, int slot)
    {
        foreach (var range in nodesLine.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(8))
        {
            if (range.StartsWith('['))
            {
                continue; // a slot being imported or migrated
            }

            var bounds = range.Split('-');
            var low = int.Parse(bounds[0], CultureInfo.InvariantCulture);
            var high = bounds.Length > 1 ? int.Parse(bounds[1], CultureInfo.InvariantCulture) : low;
            if (slot >= low && slot <= high)
            {
                return true;
            }
        }

        return false;
    }

    private async Task<string?> NotReadyBecauseAsync(bool requireReplicas)
    {
        try
        {
            string? topology = null;
            foreach (var node in _servers.Where(s => s.IsRunning))
            {
                var info = await CommandAsync(node, "CLUSTER", "INFO");
                if (!info.Contains("cluster_state:ok", StringComparison.Ordinal))
                {
                    return $"{node.EndPoint} does not report cluster_state:ok";
                }

                // Every node must see the same primaries serving the same slots (ignoring its own flags and link state).
                var nodes = await CommandAsync(node, "CLUSTER", "NODES");
                var view = string.Join('|', nodes.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                    .Select(line => line.Split(' '))
                    .Where(fields => fields[2].Contains("master", StringComparison.Ordinal) && !fields[2].Contains("fail", StringComparison.Ordinal))
                    .Select(fields => $"{fields[1]} {string.Join(' ', fields.Skip(8))}")
                    .Order(StringComparer.Ordinal));
                if (topology is not null && topology != view)
                {
                    return $"{node.EndPoint} sees another topology";
                }

                topology = view;
                var replication = await CommandAsync(node, "INFO", "replication");
                if (replication.Contains("role:slave", StringComparison.Ordinal) && !replication.Contains("master_link_status:up", StringComparison.Ordinal))
                {
                    return $"the replica {node.EndPoint} is not in sync with its primary";
                }

                if (requireReplicas && replication.Contains("role:master", StringComparison.Ordinal) && replication.Contains("connected_slaves:0", StringComparison.Ordinal)
                    && nodes.Split('\n').First(line => line.Contains("myself", StringComparison.Ordinal)).Split(' ').Length > 8)
                {
                    return $"the primary {node.EndPoint} has no replica connected";
                }
            }

            return null;
        }
        catch (Exception ex) when (ex is IOException or SocketException or InvalidOperationException or OperationCanceledException)
        {
            return ex.Message;
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
