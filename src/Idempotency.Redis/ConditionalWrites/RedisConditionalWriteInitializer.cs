using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Idempotency.Redis;

/// <summary>
/// Runs once when the host starts: reads each connected primary's <c>maxmemory-policy</c> as the idempotency store's
/// start-up check reads it (<see cref="RedisStoreInitializer.ReadEvictionPolicyAsync"/>) and applies
/// <see cref="RedisConditionalWriteOptions.EvictionPolicyCheck"/>. A record or stream that Redis evicts is not an error
/// the stores can see: the next write finds no key, and the record starts again at version 1, the stream at entry 1.
/// </summary>
/// <remarks>
/// Redis not connected at start-up (the application's multiplexer may connect later) does not stop the host: it is
/// logged, and the policy is not checked. Only a policy known to evict meets <see cref="RedisEvictionPolicyCheck.Fail"/>.
/// </remarks>
internal sealed partial class RedisConditionalWriteInitializer : IHostedService
{
    private readonly RedisConditionalWriteConnection _connection;
    private readonly RedisConditionalWriteOptions _options;
    private readonly ILogger _logger;

    public RedisConditionalWriteInitializer(
        RedisConditionalWriteConnection connection, IOptions<RedisConditionalWriteOptions> options, ILogger<RedisConditionalWriteInitializer>? logger = null)
    {
        _connection = connection;
        _options = options.Value;
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_options.EvictionPolicyCheck == RedisEvictionPolicyCheck.Ignore)
        {
            return;
        }

        var multiplexer = _connection.Multiplexer;
        var primaries = multiplexer.GetEndPoints()
            .Select(endPoint => multiplexer.GetServer(endPoint))
            .Where(server => server.IsConnected && !server.IsReplica)
            .ToArray();
        if (primaries.Length == 0)
        {
            LogStartupChecksIncomplete($"no Redis primary is connected at {string.Join(", ", multiplexer.GetEndPoints().Select(RedisStoreInitializer.Describe))}");
            return;
        }

        foreach (var server in primaries)
        {
            await CheckAsync(server, cancellationToken).ConfigureAwait(false);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private async Task CheckAsync(IServer server, CancellationToken cancellationToken)
    {
        var endPoint = RedisStoreInitializer.Describe(server.EndPoint);
        string? policy;
        string? refusal;
        try
        {
            (policy, refusal) = await RedisStoreInitializer.ReadEvictionPolicyAsync(server, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or RedisTimeoutException)
        {
            LogStartupChecksIncomplete(ex.Message);
            return;
        }

        if (policy is null)
        {
            LogEvictionPolicyNotChecked(endPoint, refusal);
        }
        else if (RedisStoreDefaults.IsSafeEvictionPolicy(policy))
        {
            LogEvictionPolicySafe(endPoint, policy);
        }
        else if (policy == RedisStoreDefaults.GarnetMemoryOnlyPolicy)
        {
            if (_options.EvictionPolicyCheck == RedisEvictionPolicyCheck.Fail)
            {
                throw new InvalidOperationException(
                    $"Garnet at {endPoint} runs without --storage-tier (RedisConditionalWriteOptions.EvictionPolicyCheck is Fail). " +
                    RedisStoreDefaults.GarnetMemoryOnlyAdvice);
            }

            LogGarnetMemoryOnly(endPoint);
        }
        else if (_options.EvictionPolicyCheck == RedisEvictionPolicyCheck.Fail)
        {
            throw new InvalidOperationException(
                $"Redis at {endPoint} has maxmemory-policy '{policy}', but the conditional-write stores require 'noeviction' " +
                "(RedisConditionalWriteOptions.EvictionPolicyCheck is Fail). " + Consequence +
                " Set 'maxmemory-policy noeviction' on this Redis, or give the conditional-write stores a Redis of their own.");
        }
        else
        {
            LogEvictionPolicyUnsafe(endPoint, policy);
        }
    }

    private const string Consequence =
        "Under memory pressure Redis could evict a versioned record or a stream: the record would start again at version 1 " +
        "and the stream at entry 1, and a writer still holding an old version or sequence number could overwrite what was lost.";

    [LoggerMessage(EventId = RedisLogEvents.ConditionalWritesEvictionPolicyUnsafe, EventName = "RedisConditionalWritesEvictionPolicyUnsafe", Level = LogLevel.Warning,
        Message = "Redis at {EndPoint} has maxmemory-policy '{Policy}'; the conditional-write stores need 'noeviction'. " + Consequence +
                  " Set 'maxmemory-policy noeviction' on this Redis, or give the conditional-write stores a Redis of their own.")]
    private partial void LogEvictionPolicyUnsafe(string endPoint, string policy);

    [LoggerMessage(EventId = RedisLogEvents.ConditionalWritesEvictionPolicyNotChecked, EventName = "RedisConditionalWritesEvictionPolicyNotChecked", Level = LogLevel.Warning,
        Message = "Could not check the maxmemory-policy of Redis at {EndPoint} for the conditional-write stores ({Refusal}). Make sure it is " +
                  "'noeviction': an evicted record starts again at version 1. Set RedisConditionalWriteOptions.EvictionPolicyCheck to Ignore once it is.")]
    private partial void LogEvictionPolicyNotChecked(string endPoint, string? refusal);

    [LoggerMessage(EventId = RedisLogEvents.ConditionalWritesEvictionPolicySafe, EventName = "RedisConditionalWritesEvictionPolicySafe", Level = LogLevel.Debug,
        Message = "Redis at {EndPoint} has maxmemory-policy '{Policy}': the conditional-write stores' keys are not evicted.")]
    private partial void LogEvictionPolicySafe(string endPoint, string policy);

    [LoggerMessage(EventId = RedisLogEvents.ConditionalWritesStartupChecksIncomplete, EventName = "RedisConditionalWritesStartupChecksIncomplete", Level = LogLevel.Warning,
        Message = "The conditional-write stores' start-up check of Redis did not complete ({Reason}); its maxmemory-policy was not checked.")]
    private partial void LogStartupChecksIncomplete(string reason);

    [LoggerMessage(EventId = RedisLogEvents.ConditionalWritesGarnetMemoryOnly, EventName = "RedisConditionalWritesGarnetMemoryOnly", Level = LogLevel.Warning,
        Message = "The conditional-write stores' server at {EndPoint} is Garnet, started without --storage-tier: it drops its oldest keys once its " +
                  "memory fills, and a dropped record starts again at version 1. Start Garnet with --storage-tier (and --logdir), or set EvictionPolicyCheck to Ignore if --memory holds every record.")]
    private partial void LogGarnetMemoryOnly(string endPoint);
}
