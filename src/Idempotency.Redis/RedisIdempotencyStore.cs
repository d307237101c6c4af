using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Idempotency.Redis;

/// <summary>
/// Keeps idempotency records in Redis: one hash per record, each operation one Lua script called by its SHA
/// (<c>EVALSHA</c>), so one round trip, atomic, touching a single key (cluster-safe). Leases are judged by the
/// Redis server's clock, so every application instance agrees on them.
/// </summary>
/// <remarks>
/// Record (hash) fields: <c>v</c> format version (<c>1</c>), <c>state</c> (<c>claimed</c> or <c>completed</c>),
/// <c>fp</c> request fingerprint, and <c>owner</c> with <c>lease</c> (expiry, server milliseconds) while claimed,
/// or <c>payload</c> once completed. Key TTL: lease + <see cref="RedisIdempotencyStoreOptions.LeaseGracePeriod"/>
/// while claimed, the retention once completed.
/// </remarks>
internal sealed partial class RedisIdempotencyStore : IIdempotencyStore
{
    /// <inheritdoc />
    public string Name => "redis";

    private const long ClaimedReply = 0;
    private const long InFlightReply = 1;
    private const long CompletedReply = 2;
    private const long FingerprintMismatchReply = 3;

    // complete.lua: 1 completed (or completed already by this very completion), 0 the claim is another owner's or the
    // record completed with another payload, 2 no record at all (expired, released, or lost with a restarted primary).
    private const long CompletedAgainOrNowReply = 1;
    private const long NoRecordReply = 2;

    private readonly RedisConnection _connection;
    private readonly string _keyPrefix;
    private readonly long _leaseGraceMilliseconds;
    private readonly int _replicaAcknowledgements;
    private readonly long _replicaAcknowledgementTimeoutMilliseconds;
    private readonly RedisEvictionPolicyCheck _evictionPolicyCheck;
    private readonly ILogger _logger;

    public RedisIdempotencyStore(RedisConnection connection, IOptions<RedisIdempotencyStoreOptions> options, ILogger<RedisIdempotencyStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(options);
        _connection = connection;
        _keyPrefix = options.Value.KeyPrefix;
        _leaseGraceMilliseconds = (long)options.Value.LeaseGracePeriod.TotalMilliseconds;
        _replicaAcknowledgements = options.Value.ReplicaAcknowledgements;
        _replicaAcknowledgementTimeoutMilliseconds = ToMilliseconds(options.Value.ReplicaAcknowledgementTimeout);
        _evictionPolicyCheck = options.Value.EvictionPolicyCheck;
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    public async ValueTask<IdempotencyClaimResult> ClaimAsync(IdempotencyClaimRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        RedisValue[] arguments = [request.Fingerprint, request.OwnerToken, ToMilliseconds(request.LeaseDuration), _leaseGraceMilliseconds];
        var (reply, replicas) = await EvaluateAsync(RedisScript.Claim, request.Key, arguments, acknowledged: true, cancellationToken).ConfigureAwait(false);

        var parts = (RedisResult[]?)reply;
        switch (parts is { Length: > 0 } ? (long)parts[0] : -1)
        {
            case ClaimedReply when parts!.Length == 2:
                if (replicas < _replicaAcknowledgements)
                {
                    await WithdrawUnacknowledgedClaimAsync(request.Key, request.OwnerToken).ConfigureAwait(false);
                    throw NotAcknowledged(RedisScript.Claim, replicas);
                }

                return IdempotencyClaimResult.Claimed(DateTimeOffset.FromUnixTimeMilliseconds((long)parts[1]));
            case InFlightReply when parts!.Length == 2:
                return IdempotencyClaimResult.InFlight(TimeSpan.FromMilliseconds((long)parts[1]));
            case CompletedReply when parts!.Length == 2 && (byte[]?)parts[1] is { } payload:
                return IdempotencyClaimResult.Completed(payload);
            case FingerprintMismatchReply:
                return IdempotencyClaimResult.FingerprintMismatch();
            default:
                throw UnexpectedReply(RedisScript.Claim, reply);
        }
    }

    public async ValueTask<CompletionStatus> CompleteAsync(IdempotencyCompleteRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        RedisValue[] arguments = [request.OwnerToken, request.Payload, ToMilliseconds(request.Retention)];
        var (reply, replicas) = await EvaluateAsync(RedisScript.Complete, request.Key, arguments, acknowledged: true, cancellationToken, request.LeaseExpiresAt).ConfigureAwait(false);
        if (reply.Resp2Type != ResultType.Integer || (long)reply is not (0 or CompletedAgainOrNowReply or NoRecordReply))
        {
            throw UnexpectedReply(RedisScript.Complete, reply);
        }

        if ((long)reply != CompletedAgainOrNowReply)
        {
            return CompletionStatus.ClaimLost;
        }

        return replicas < _replicaAcknowledgements ? throw NotAcknowledged(RedisScript.Complete, replicas) : CompletionStatus.Completed;
    }

    public async ValueTask<bool> ReleaseAsync(string key, string ownerToken, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentException.ThrowIfNullOrEmpty(ownerToken);
        // A release is not waited for: if a fail-over loses it, the claim comes back and ends with its lease.
        var (reply, _) = await EvaluateAsync(RedisScript.Release, key, [ownerToken], acknowledged: false, cancellationToken).ConfigureAwait(false);
        return ToFlag(RedisScript.Release, reply);
    }

    // Redis expires keys to the millisecond; round up so a sub-millisecond duration never becomes "expire now".
    private static long ToMilliseconds(TimeSpan duration) => Math.Max(1, (long)Math.Ceiling(duration.TotalMilliseconds));

    private static bool ToFlag(RedisScript script, RedisResult reply)
    {
        if (reply.Resp2Type != ResultType.Integer || (long)reply is not (0 or 1))
        {
            throw UnexpectedReply(script, reply);
        }

        return (long)reply == 1;
    }

    private static IdempotencyStoreException UnexpectedReply(RedisScript script, RedisResult reply) =>
        new($"The Redis idempotency store's {script.Name} script returned an unexpected reply ({reply.Resp2Type}). " +
            "Another program may be writing under the store's key prefix; give the store a prefix of its own.");

    // The reply, and how many replicas acknowledged the script's write (0 when not asked to wait). Without replica
    // acknowledgement, this is the only state machine between the caller and StackExchange.Redis's task: the script
    // goes out by its SHA and its task is awaited here (through the token when it can be cancelled), and EVAL with the
    // text is the rare NOSCRIPT path. A completion that a fail-over kept from the primary is sent again until its
    // claim's lease ends (RedisResend says which failures): the work has run, and a completion refused is a record lost.
    // So is one answered "no record" by a node that no replica acknowledges (a primary that restarted empty): with
    // ReplicaAcknowledgements, the claim was on a replica, which may be the primary by now. Claims and releases are not
    // sent again: a claim refused is a 503 and nothing runs (sent again, one that landed would find itself and answer
    // "in flight" to its own caller, and a caller's refusal is what tells a client that a fail-over happened), a
    // release refused ends with the lease. Only the first resend and the last failure of a call are logged.
    private async ValueTask<(RedisResult Reply, long Replicas)> EvaluateAsync(
        RedisScript script, string key, RedisValue[] arguments, bool acknowledged, CancellationToken cancellationToken, DateTimeOffset? leaseExpiresAt = null)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var resend = new RedisResend(leaseExpiresAt);
        while (true)
        {
            (RedisResult Reply, long Replicas) result;
            try
            {
                var multiplexer = await _connection.GetMultiplexerAsync().ConfigureAwait(false);

                // StackExchange.Redis takes no token: stop waiting when cancelled. A claim abandoned this way may still
                // land; it then holds the key until its lease ends, like a claim whose owner crashed.
                if (acknowledged && _replicaAcknowledgements > 0)
                {
                    result = await WhileNotCancelled(EvaluateAcknowledgedAsync(multiplexer, script, _keyPrefix + key, arguments), cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    var database = multiplexer.GetDatabase();
                    RedisKey[] keys = [_keyPrefix + key];
                    try
                    {
                        result = (await WhileNotCancelled(database.ScriptEvaluateAsync(script.Hash, keys, arguments), cancellationToken).ConfigureAwait(false), 0);
                    }
                    catch (RedisServerException ex) when (ex.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal))
                    {
                        // Redis lost its script cache (restart, fail-over, SCRIPT FLUSH). EVAL runs the script from its text and
                        // caches it again, so the next call by SHA succeeds: one extra round trip, once per server. NoScriptCache
                        // keeps StackExchange.Redis from adding a SCRIPT LOAD of its own.
                        LogScriptReloaded(script.Name);
                        var evaluation = database.ScriptEvaluateAsync(script.Text, keys, arguments, CommandFlags.NoScriptCache);
                        result = (await WhileNotCancelled(evaluation, cancellationToken).ConfigureAwait(false), 0);
                    }
                }
            }
            catch (Exception ex) when (script == RedisScript.Complete && resend.Allows(ex, evenIfItMayHaveRun: true))
            {
                // A completion that Redis did not run (the node it went to is no longer the primary), or whose connection
                // dropped (complete.lua answers a second one again): read the topology again, send it to the primary.
                if (resend.IsFirstResend)
                {
                    LogCallSentAgain(script.Name, StoreFaultDescription.Describe(ex, key));
                }

                await resend.WaitForTheTopologyAsync(await _connection.GetMultiplexerAsync().ConfigureAwait(false), _keyPrefix + key, cancellationToken).ConfigureAwait(false);
                continue;
            }
            catch (RedisServerException ex) when (ex.Message.StartsWith("IDEMPOTENCY_FORMAT", StringComparison.Ordinal))
            {
                throw new IdempotencyStoreException(
                    $"The Redis idempotency store could not {script.Name} the key: {ex.Message}. A newer version of the store wrote " +
                    "this record; upgrade every instance to the same version of Idempotency.Redis.", ex);
            }
            catch (RedisTimeoutException ex)
            {
                LogOperationFailed(script.Name, ex, key);
                throw new IdempotencyStoreException(
                    $"The Redis idempotency store could not {script.Name} the key: Redis did not answer in time. " +
                    "The operation must not run unprotected; check the health of Redis and the connection's asyncTimeout.", ex);
            }
            catch (RedisConnectionException ex)
            {
                LogOperationFailed(script.Name, ex, key);
                throw new IdempotencyStoreException(
                    $"The Redis idempotency store could not {script.Name} the key: Redis is not connected ({ex.FailureType}). " +
                    "The operation must not run unprotected; the store reconnects by itself once Redis is reachable.", ex);
            }
            catch (RedisException ex)
            {
                LogOperationFailed(script.Name, ex, key);
                throw new IdempotencyStoreException(
                    $"The Redis idempotency store could not {script.Name} the key: Redis answered with an error ({ex.Message}).", ex);
            }
            catch (RedisCommandException ex)
            {
                // The connection's command map disables a command the store needs (EVALSHA or EVAL).
                LogOperationFailed(script.Name, ex, key);
                throw new IdempotencyStoreException($"The Redis idempotency store could not {script.Name} the key: {ex.Message}", ex);
            }

            if (script == RedisScript.Complete && IsNoRecordFromAnUnacknowledgedNode(result))
            {
                if (!resend.AllowsAfterAnUntrustedAnswer())
                {
                    LogOperationFailed(script.Name, NoRecordFromAnUnacknowledgedNode);
                    throw new IdempotencyStoreException(
                        $"The Redis idempotency store could not complete the key: {NoRecordFromAnUnacknowledgedNode} It was sent " +
                        "again until the claim's lease ended; the outcome is not recorded, and a retry may run the operation again.");
                }

                if (resend.IsFirstResend)
                {
                    LogCallSentAgain(script.Name, NoRecordFromAnUnacknowledgedNode);
                }

                await resend.WaitForTheTopologyAsync(await _connection.GetMultiplexerAsync().ConfigureAwait(false), _keyPrefix + key, cancellationToken).ConfigureAwait(false);
                continue;
            }

            return result;
        }
    }

    private const string NoRecordFromAnUnacknowledgedNode =
        "The node that answered has no record of the claim, and none of its replicas acknowledged the call " +
        "(ReplicaAcknowledgements): it may be a primary that restarted empty during a fail-over, while the replica that " +
        "has the claim takes over.";

    // complete.lua found no record at all. With replica acknowledgement, the claim was on a replica before the work ran, so
    // a node that has not got it, and that no replica follows, is not the primary the claim lives on.
    private bool IsNoRecordFromAnUnacknowledgedNode((RedisResult Reply, long Replicas) result) =>
        _replicaAcknowledgements > 0
        && result.Replicas < _replicaAcknowledgements
        && result.Reply.Resp2Type == ResultType.Integer
        && (long)result.Reply == NoRecordReply;

    private static Task<T> WhileNotCancelled<T>(Task<T> task, CancellationToken cancellationToken) =>
        cancellationToken.CanBeCanceled ? task.WaitAsync(cancellationToken) : task;

    // Used where no store-level state machine awaits the script (the acknowledged path's fallbacks).
    private async Task<RedisResult> EvaluateOnceAsync(IDatabaseAsync database, RedisScript script, RedisKey[] keys, RedisValue[] arguments)
    {
        try
        {
            return await database.ScriptEvaluateAsync(script.Hash, keys, arguments).ConfigureAwait(false);
        }
        catch (RedisServerException ex) when (ex.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal))
        {
            // As in EvaluateAsync: send the text once, which caches it again.
            LogScriptReloaded(script.Name);
            return await database.ScriptEvaluateAsync(script.Text, keys, arguments, CommandFlags.NoScriptCache).ConfigureAwait(false);
        }
    }
}
