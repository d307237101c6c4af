using System.Net;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Idempotency.Redis;

/// <summary>
/// Runs once when the host starts: connects, loads the store's scripts into every primary (<c>SCRIPT LOAD</c>, so
/// the first request already calls them by SHA), checks each primary's <c>maxmemory-policy</c>, and runs one script
/// to prove that Redis lets the store run them.
/// </summary>
/// <remarks>
/// Redis being unreachable at start-up does not stop the host: it is logged, requests with a key are refused until
/// Redis answers, and the scripts are then sent on first use. Start-up fails only when Redis refuses to run the
/// store's scripts (no request could succeed), or when a policy known to evict meets
/// <see cref="RedisEvictionPolicyCheck.Fail"/>. Without a generic host (no hosted services) nothing here
/// runs; the store still works, loading each script on first use.
/// </remarks>
internal sealed partial class RedisStoreInitializer : IHostedService
{
    private readonly RedisConnection _connection;
    private readonly RedisIdempotencyStoreOptions _options;
    private readonly ILogger _logger;

    public RedisStoreInitializer(RedisConnection connection, IOptions<RedisIdempotencyStoreOptions> options, ILogger<RedisStoreInitializer>? logger = null)
    {
        _connection = connection;
        _options = options.Value;
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var multiplexer = await _connection.GetMultiplexerAsync().AsTask().WaitAsync(cancellationToken).ConfigureAwait(false);
        var primaries = multiplexer.GetEndPoints()
            .Select(endPoint => multiplexer.GetServer(endPoint))
            .Where(server => server.IsConnected && !server.IsReplica)
            .ToArray();
        if (primaries.Length == 0)
        {
            var endPoints = string.Join(", ", multiplexer.GetEndPoints().Select(Describe));
            LogStartupChecksIncomplete($"no Redis primary is connected at {endPoints}");
            return;
        }

        foreach (var server in primaries)
        {
            await InitializeAsync(server, cancellationToken).ConfigureAwait(false);
        }

        await CheckScriptsRunAsync(multiplexer.GetDatabase(), cancellationToken).ConfigureAwait(false);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    internal static string Describe(EndPoint endPoint) => EndPointCollection.ToString(endPoint);

    private async Task InitializeAsync(IServer server, CancellationToken cancellationToken)
    {
        string? policy;
        string? refusal;
        try
        {
            foreach (var script in RedisScript.All)
            {
                await server.ExecuteAsync("SCRIPT", "LOAD", script.Text).WaitAsync(cancellationToken).ConfigureAwait(false);
            }

            LogScriptsLoaded(Describe(server.EndPoint));
            await CheckReplicasAsync(server, cancellationToken).ConfigureAwait(false);
            if (_options.EvictionPolicyCheck == RedisEvictionPolicyCheck.Ignore)
            {
                return;
            }

            (policy, refusal) = await ReadEvictionPolicyAsync(server, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or RedisTimeoutException or RedisCommandException)
        {
            // Lost between connecting and now, or SCRIPT refused; the store sends the scripts again on first use.
            LogStartupChecksIncomplete(ex.Message);
            return;
        }

        var endPoint = Describe(server.EndPoint);
        if (policy is null)
        {
            LogEvictionPolicyNotChecked(endPoint, refusal);
        }
        else if (policy == RedisStoreDefaults.GarnetStorageTierPolicy)
        {
            LogGarnetStorageTier(endPoint);
        }
        else if (RedisStoreDefaults.IsSafeEvictionPolicy(policy))
        {
            LogEvictionPolicySafe(endPoint);
        }
        else if (policy == RedisStoreDefaults.GarnetMemoryOnlyPolicy)
        {
            if (_options.EvictionPolicyCheck == RedisEvictionPolicyCheck.Fail)
            {
                throw new InvalidOperationException(
                    $"Garnet at {endPoint} runs without --storage-tier (RedisIdempotencyStoreOptions.EvictionPolicyCheck is Fail). " +
                    RedisStoreDefaults.GarnetMemoryOnlyAdvice);
            }

            LogGarnetMemoryOnly(endPoint);
        }
        else if (_options.EvictionPolicyCheck == RedisEvictionPolicyCheck.Fail)
        {
            throw new InvalidOperationException(
                $"Redis at {endPoint} has maxmemory-policy '{policy}', but the idempotency store requires 'noeviction' " +
                "(RedisIdempotencyStoreOptions.EvictionPolicyCheck is Fail). Under memory pressure Redis could evict an idempotency " +
                "record, and a retry of that request would run its operation a second time. Set 'maxmemory-policy noeviction' " +
                "on this Redis, or give the idempotency store a Redis of its own.");
        }
        else
        {
            LogEvictionPolicyUnsafe(endPoint, policy);
        }
    }

    // Releases a key that cannot exist (stored keys start with a digit) through the database the store uses: proves
    // that Redis lets this connection run the scripts (ACLs, disabled scripting) before the first request depends
    // on it, and leaves the connection ready (database selected) so that request costs exactly one command.
    private async Task CheckScriptsRunAsync(IDatabaseAsync database, CancellationToken cancellationToken)
    {
        try
        {
            RedisKey[] keys = [_options.KeyPrefix + "start-up-check"];
            await database.ScriptEvaluateAsync(RedisScript.Release.Hash, keys, ["-"]).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisServerException { Message: var message } && !message.StartsWith("NOSCRIPT", StringComparison.Ordinal)
                                   || ex is RedisCommandException)
        {
            throw new InvalidOperationException(
                $"The Redis idempotency store cannot run its Lua scripts on this Redis: {ex.Message}. It needs EVAL, EVALSHA and SCRIPT, " +
                "and inside its scripts TIME, HMGET, HGET, HSET, HDEL, PEXPIRE and DEL on keys under its prefix; check the ACL of the connection's user.", ex);
        }
        catch (Exception ex) when (ex is RedisException or RedisTimeoutException)
        {
            // NOSCRIPT (Redis restarted since the load) or a lost connection: the store recovers from both by itself.
            LogStartupChecksIncomplete(ex.Message);
        }
    }

    // With ReplicaAcknowledgements, a primary with fewer replicas than required refuses every claim: say so now.
    private async Task CheckReplicasAsync(IServer server, CancellationToken cancellationToken)
    {
        if (_options.ReplicaAcknowledgements == 0)
        {
            return;
        }

        var info = (string?)await server.ExecuteAsync("INFO", "replication").WaitAsync(cancellationToken).ConfigureAwait(false);
        foreach (var line in (info ?? string.Empty).Split('\n'))
        {
            const string Field = "connected_slaves:";
            if (line.StartsWith(Field, StringComparison.Ordinal)
                && int.TryParse(line.AsSpan(Field.Length).Trim(), System.Globalization.CultureInfo.InvariantCulture, out var replicas)
                && replicas < _options.ReplicaAcknowledgements)
            {
                LogTooFewReplicas(Describe(server.EndPoint), replicas, _options.ReplicaAcknowledgements);
            }
        }
    }

    // Garnet (INFO server names it) reports no policy; whether it can drop records depends on --storage-tier, which
    // INFO store shows as a non-empty LogDir. Null for any other server.
    private static async Task<string?> ReadGarnetPolicyAsync(IServer server, CancellationToken cancellationToken)
    {
        var about = (string?)await server.ExecuteAsync("INFO", "server").WaitAsync(cancellationToken).ConfigureAwait(false);
        if (about is null || !about.Contains("garnet_version:", StringComparison.Ordinal))
        {
            return null;
        }

        var store = (string?)await server.ExecuteAsync("INFO", "store").WaitAsync(cancellationToken).ConfigureAwait(false);
        foreach (var line in (store ?? string.Empty).Split('\n'))
        {
            const string Field = "LogDir:";
            if (line.StartsWith(Field, StringComparison.Ordinal) && line.AsSpan(Field.Length).Trim().Length > 0)
            {
                return RedisStoreDefaults.GarnetStorageTierPolicy;
            }
        }

        return RedisStoreDefaults.GarnetMemoryOnlyPolicy;
    }

    // CONFIG GET first; managed services usually disable CONFIG but still report the policy in INFO memory. A command
    // the server refuses (RedisServerException) or the client's command map disables (RedisCommandException) falls through.
    // Also read by the store's health check.
    internal static async Task<(string? Policy, string? Refusal)> ReadEvictionPolicyAsync(IServer server, CancellationToken cancellationToken)
    {
        string configRefusal;
        try
        {
            var reply = await server.ExecuteAsync("CONFIG", "GET", "maxmemory-policy").WaitAsync(cancellationToken).ConfigureAwait(false);
            if (reply.ToDictionary().TryGetValue("maxmemory-policy", out var value) && !value.IsNull)
            {
                return ((string?)value, null);
            }

            configRefusal = "CONFIG GET returned no maxmemory-policy";
        }
        catch (Exception ex) when (ex is RedisServerException or RedisCommandException)
        {
            configRefusal = ex.Message;
        }

        try
        {
            var info = (string?)await server.ExecuteAsync("INFO", "memory").WaitAsync(cancellationToken).ConfigureAwait(false);
            foreach (var line in (info ?? string.Empty).Split('\n'))
            {
                const string Field = "maxmemory_policy:";
                if (line.StartsWith(Field, StringComparison.Ordinal))
                {
                    return (line[Field.Length..].Trim(), null);
                }
            }

            return await ReadGarnetPolicyAsync(server, cancellationToken).ConfigureAwait(false) is { } garnet
                ? (garnet, null)
                : (null, $"{configRefusal}; INFO memory has no maxmemory_policy");
        }
        catch (Exception ex) when (ex is RedisServerException or RedisCommandException)
        {
            return (null, $"{configRefusal}; {ex.Message}");
        }
    }
}
