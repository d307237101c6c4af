using System.Diagnostics;
using StackExchange.Redis;

namespace Idempotency.Redis;

internal sealed partial class RedisIdempotencyStore
{
    /// <summary>
    /// Which failed calls are sent again, and for how long: a fail-over (<c>CLUSTER FAILOVER</c>, Sentinel, an operator's
    /// <c>REPLICAOF</c>) turns the primary a call went to into a replica, or drops its connection, for the moment it takes
    /// StackExchange.Redis to learn the new topology. Refusing such a call would cost a claim a 503, and a completion
    /// its record: the work has run, and a retry would wait out the lease and run it again.
    /// </summary>
    /// <remarks>
    /// <para>
    /// Sent again: any call that Redis refused without running it (<c>READONLY</c>: the node is a replica now, and a
    /// script fails at its first write, before it changed anything; <c>LOADING</c>, <c>CLUSTERDOWN</c>: refused before
    /// running); and a completion whose connection failed, which Redis may or may not have run: <c>complete.lua</c>
    /// recognises the record it stored by its payload and answers "completed" again. A claim or a release whose answer
    /// was lost is not sent again: a second claim by the same owner would find its own claim and answer "in flight",
    /// a second release would find nothing and report the claim lost. A timeout is not sent again either: the call has
    /// already waited <c>asyncTimeout</c>.
    /// </para>
    /// <para>
    /// For <see cref="Window"/> after the first failure, after a pause that grows from 20 to 250 ms, each time after
    /// asking StackExchange.Redis to read the topology again (<see cref="IConnectionMultiplexer.ConfigureAsync"/>,
    /// which does nothing when a reconfiguration is already under way).
    /// </para>
    /// </remarks>
    private struct SendAgain
    {
        /// <summary>How long after a call's first failure it may still be sent again.</summary>
        public static readonly TimeSpan Window = TimeSpan.FromSeconds(1);

        private long _firstFailure;
        private int _failures;

        /// <summary>Whether the call that failed with <paramref name="failure"/> is sent again; counts the failure if so.</summary>
        public bool Allows(RedisScript script, RedisException failure)
        {
            if (!(DidNotRun(failure) || (script == RedisScript.Complete && IsDroppedConnection(failure))))
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
        public readonly async Task WaitForTheTopologyAsync(RedisConnection connection, CancellationToken cancellationToken)
        {
            await Task.Delay(_failures switch { 1 => 20, 2 => 100, _ => 250 }, cancellationToken).ConfigureAwait(false);
            var multiplexer = await connection.GetMultiplexerAsync().ConfigureAwait(false);
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
}
