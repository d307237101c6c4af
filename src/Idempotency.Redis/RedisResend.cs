using StackExchange.Redis;

namespace Idempotency.Redis;

/// <summary>
/// Which failed calls are sent again, and for how long: a fail-over (<c>CLUSTER FAILOVER</c>, Sentinel, an operator's
/// <c>REPLICAOF</c>, a primary killed and its replica promoted) turns the primary a call went to into a replica, or
/// drops its connection, for the moment it takes the servers to choose a new primary and StackExchange.Redis to learn
/// of it. Refusing such a call would cost a compare-and-set an exception, and an idempotency completion its record: the
/// work has run, and a retry would wait out the lease and run it again. One per call, as a local: it counts that call's
/// failures. (The idempotency store's claims and releases are not sent again: a refused claim is a 503 and nothing runs.)
/// </summary>
/// <remarks>
/// <para>
/// Sent again: any call that Redis refused without running it (<c>READONLY</c>: the node is a replica now, and a
/// script fails at its first write, before it changed anything; <c>LOADING</c>, <c>CLUSTERDOWN</c>: refused before
/// running); and, when the caller says a second run is harmless, a call whose connection dropped, which Redis may or may
/// not have run (the idempotency store's completion: <c>complete.lua</c> recognises the record it stored by its
/// payload), and a timeout that follows such a failure (the call waited for a node that had gone). A first timeout is
/// never sent again: nothing says a fail-over is under way, and the call has already waited <c>asyncTimeout</c>.
/// </para>
/// <para>
/// How long, and the pauses, are <see cref="ResendSchedule"/>'s, shared with the PostgreSQL store: for
/// <see cref="Window"/> after the first failure, or until the moment given to the constructor when that is later (a
/// completion: the end of its claim's lease, until which nobody else can run the work). After each pause,
/// StackExchange.Redis is asked to read the topology again (<see cref="IConnectionMultiplexer.ConfigureAsync"/>, which
/// does nothing when a reconfiguration is already under way), until it knows a connected primary for the key: a call
/// sent to a node that is down would wait in StackExchange.Redis's backlog for that node, not for its successor.
/// </para>
/// </remarks>
internal struct RedisResend
{
    /// <summary>How long after a call's first failure it may still be sent again, at least.</summary>
    public static TimeSpan Window => ResendSchedule.Window;

    private ResendSchedule _schedule;

    /// <summary>Starts counting a call's failures.</summary>
    /// <param name="until">
    /// Until when the call may still be sent again, when that is later than <see cref="Window"/> after its first failure
    /// (this machine's clock); <see langword="null"/> for the window alone.
    /// </param>
    public RedisResend(DateTimeOffset? until)
    {
        _schedule = new ResendSchedule(until);
    }

    /// <summary>Gets whether the call has been allowed to go again exactly once so far: its first resend.</summary>
    public readonly bool IsFirstResend => _schedule.IsFirstResend;

    /// <summary>Whether the call that failed with <paramref name="failure"/> is sent again; counts the failure if so.</summary>
    /// <param name="failure">What the call failed with.</param>
    /// <param name="evenIfItMayHaveRun">
    /// Whether a second run of the call is harmless, so that a dropped connection, after which Redis may have run it (and
    /// a timeout after an earlier failure of the same call), allows it too.
    /// </param>
    public bool Allows(Exception failure, bool evenIfItMayHaveRun) =>
        (DidNotRun(failure) || (evenIfItMayHaveRun && (IsDroppedConnection(failure) || (_schedule.HasFailed && failure is RedisTimeoutException))))
        && _schedule.TryCountFailure();

    /// <summary>
    /// Whether a call that Redis ran, but whose answer the caller cannot trust, is sent again (the idempotency store's
    /// completion answered "no record" by a node that no replica acknowledges: a primary that restarted empty, before it
    /// learnt that it is a replica now); counts it as a failure if so.
    /// </summary>
    public bool AllowsAfterAnUntrustedAnswer() => _schedule.TryCountFailure();

    /// <summary>
    /// Pauses, then has StackExchange.Redis read the cluster's (or the replication group's) topology again, until it
    /// knows a connected primary for <paramref name="key"/> or the time to send the call again has run out.
    /// </summary>
    public readonly async Task WaitForTheTopologyAsync(IConnectionMultiplexer multiplexer, RedisKey key, CancellationToken cancellationToken)
    {
        var pause = _schedule.NextPause;
        do
        {
            await Task.Delay(pause, cancellationToken).ConfigureAwait(false);
            try
            {
                await multiplexer.ConfigureAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                // The next attempt fails or succeeds on its own; StackExchange.Redis keeps reconnecting meanwhile.
            }

            pause = ResendSchedule.LongestPause;
        }
        while (!KnowsAConnectedPrimaryFor(multiplexer, key) && _schedule.IsWithinTime);
    }

    /// <summary>Whether StackExchange.Redis's view of the topology names a primary for <paramref name="key"/> that it is connected to.</summary>
    public static bool KnowsAConnectedPrimaryFor(IConnectionMultiplexer multiplexer, RedisKey key)
    {
        var (isCluster, primary) = RedisIdempotencyStore.ClusterPrimaryOf(multiplexer, key);
        if (isCluster)
        {
            return primary is { IsConnected: true };
        }

        foreach (var server in multiplexer.GetServers())
        {
            if (server.IsConnected && !server.IsReplica)
            {
                return true;
            }
        }

        return false;
    }

    // Errors Redis answers before it runs a command, and READONLY, which a script meets at its first write.
    private static bool DidNotRun(Exception failure) =>
        failure is RedisServerException
        && (failure.Message.StartsWith("READONLY", StringComparison.Ordinal)
            || failure.Message.StartsWith("LOADING", StringComparison.Ordinal)
            || failure.Message.StartsWith("CLUSTERDOWN", StringComparison.Ordinal));

    private static bool IsDroppedConnection(Exception failure) =>
        failure is RedisConnectionException { FailureType: ConnectionFailureType.SocketClosed or ConnectionFailureType.SocketFailure or ConnectionFailureType.UnableToConnect };
}
