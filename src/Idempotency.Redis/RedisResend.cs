using System.Diagnostics;
using StackExchange.Redis;

namespace Idempotency.Redis;

/// <summary>
/// Which failed calls are sent again, and for how long: a fail-over (<c>CLUSTER FAILOVER</c>, Sentinel, an operator's
/// <c>REPLICAOF</c>) turns the primary a call went to into a replica, or drops its connection, for the moment it takes
/// StackExchange.Redis to learn the new topology. Refusing such a call would cost a compare-and-set an exception, and
/// an idempotency completion its record: the work has run, and a retry would wait out the lease and run it again. One
/// per call, as a local: it counts that call's failures. (The idempotency store's claims and releases are not sent
/// again: a refused claim is a 503 and nothing runs.)
/// </summary>
/// <remarks>
/// <para>
/// Sent again: any call that Redis refused without running it (<c>READONLY</c>: the node is a replica now, and a
/// script fails at its first write, before it changed anything; <c>LOADING</c>, <c>CLUSTERDOWN</c>: refused before
/// running); and, when the caller says a second run is harmless, a call whose connection dropped, which Redis may or may
/// not have run (the idempotency store's completion: <c>complete.lua</c> recognises the record it stored by its
/// payload). A timeout is never sent again: the call has already waited <c>asyncTimeout</c>.
/// </para>
/// <para>
/// For <see cref="Window"/> after the first failure, after a pause that grows from 20 to 250 ms, each time after
/// asking StackExchange.Redis to read the topology again (<see cref="IConnectionMultiplexer.ConfigureAsync"/>,
/// which does nothing when a reconfiguration is already under way).
/// </para>
/// </remarks>
internal struct RedisResend
{
    /// <summary>How long after a call's first failure it may still be sent again.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(1);

    private long _firstFailure;
    private int _failures;

    /// <summary>Whether the call that failed with <paramref name="failure"/> is sent again; counts the failure if so.</summary>
    /// <param name="failure">What the call failed with.</param>
    /// <param name="evenIfItMayHaveRun">Whether a second run of the call is harmless, so that a dropped connection, after which Redis may have run it, allows it too.</param>
    public bool Allows(RedisException failure, bool evenIfItMayHaveRun)
    {
        if (!(DidNotRun(failure) || (evenIfItMayHaveRun && IsDroppedConnection(failure))))
        {
            return false;
        }

        var now = Stopwatch.GetTimestamp();
        if (_failures == 0)
        {
            _firstFailure = now;
        }
        else if (Stopwatch.GetElapsedTime(_firstFailure, now) >= Window)
        {
            return false;
        }

        _failures++;
        return true;
    }

    /// <summary>Pauses, then has StackExchange.Redis read the cluster's (or the replication group's) topology again.</summary>
    public readonly async Task WaitForTheTopologyAsync(IConnectionMultiplexer multiplexer, CancellationToken cancellationToken)
    {
        await Task.Delay(_failures switch { 1 => 20, 2 => 100, _ => 250 }, cancellationToken).ConfigureAwait(false);
        try
        {
            await multiplexer.ConfigureAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // The next attempt fails or succeeds on its own; StackExchange.Redis keeps reconnecting meanwhile.
        }
    }

    // Errors Redis answers before it runs a command, and READONLY, which a script meets at its first write.
    private static bool DidNotRun(RedisException failure) =>
        failure is RedisServerException
        && (failure.Message.StartsWith("READONLY", StringComparison.Ordinal)
            || failure.Message.StartsWith("LOADING", StringComparison.Ordinal)
            || failure.Message.StartsWith("CLUSTERDOWN", StringComparison.Ordinal));

    private static bool IsDroppedConnection(RedisException failure) =>
        failure is RedisConnectionException { FailureType: ConnectionFailureType.SocketClosed or ConnectionFailureType.SocketFailure or ConnectionFailureType.UnableToConnect };
}
