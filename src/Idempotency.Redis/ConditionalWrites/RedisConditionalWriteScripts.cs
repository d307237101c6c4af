using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Idempotency.Redis;

/// <summary>The conditional writes' Lua scripts, and how they are called: by SHA, one round trip, with the text as a fallback.</summary>
internal static partial class RedisConditionalWriteScripts
{
    public static RedisScript Create { get; } = new("record-create");

    public static RedisScript Update { get; } = new("record-update");

    public static RedisScript Append { get; } = new("stream-append");

    /// <summary>
    /// Runs <paramref name="script"/> on <paramref name="key"/>. A call that a fail-over refused without running it
    /// (<c>READONLY</c> and the like, see <see cref="RedisResend"/>) is sent again to the new primary; one whose
    /// connection dropped is not: sent twice, a compare-and-set would find its own write and answer a conflict. The
    /// first resend of a call is logged (event 3175), with the key cut out of the fault.
    /// </summary>
    public static async Task<RedisResult> EvaluateAsync(
        IDatabaseAsync database, RedisScript script, RedisKey key, RedisValue[] arguments, ILogger logger, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var resend = new RedisResend(until: null);
        while (true)
        {
            var evaluation = EvaluateOnceAsync(database, script, [key], arguments);
            try
            {
                // StackExchange.Redis takes no token: stop waiting when cancelled. The write may still land, exactly as
                // if the reply had been lost; the caller's next read shows it.
                return cancellationToken.CanBeCanceled ? await evaluation.WaitAsync(cancellationToken).ConfigureAwait(false) : await evaluation.ConfigureAwait(false);
            }
            catch (RedisServerException ex) when (ex.Message.StartsWith("CONDITIONAL_FORMAT", StringComparison.Ordinal) || ex.Message.StartsWith("WRONGTYPE", StringComparison.Ordinal))
            {
                throw UnreadableKey(key, ex);
            }
            catch (RedisException ex) when (resend.Allows(ex, evenIfItMayHaveRun: false))
            {
                if (resend.IsFirstResend)
                {
                    LogSentAgain(logger, script.Name, StoreFaultDescription.Describe(ex, key.ToString()));
                }

                await resend.WaitForTheTopologyAsync(database.Multiplexer, key, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    [LoggerMessage(EventId = RedisLogEvents.ConditionalWriteSentAgain, EventName = "RedisConditionalWriteSentAgain", Level = LogLevel.Information,
        Message = "A conditional write ({Script}) did not reach the primary (the node it went to answered as a replica, as in a fail-over); it is sent again, for up to a second, once StackExchange.Redis knows a connected primary. {Fault}")]
    private static partial void LogSentAgain(ILogger logger, string script, string fault);

    public static IdempotencyStoreException UnreadableKey(RedisKey key, Exception? inner) =>
        new($"The Redis key '{key}' is not in a format this version of Idempotency.Redis writes ({inner?.Message ?? "unexpected reply"}). " +
            "Another program, or a newer version of the library, writes under the same key prefix; give these stores a prefix of their own.", inner);

    public static IdempotencyStoreException UnexpectedReply(RedisScript script, RedisResult reply) =>
        new($"The Redis {script.Name} script returned an unexpected reply ({reply.Resp2Type}). " +
            "Another program may be writing under the same key prefix; give these stores a prefix of their own.");

    private static async Task<RedisResult> EvaluateOnceAsync(IDatabaseAsync database, RedisScript script, RedisKey[] keys, RedisValue[] arguments)
    {
        try
        {
            return await database.ScriptEvaluateAsync(script.Hash, keys, arguments).ConfigureAwait(false);
        }
        catch (RedisServerException ex) when (ex.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal))
        {
            // The server does not know the script yet (first use, restart, fail-over, SCRIPT FLUSH): EVAL sends its
            // text and caches it, so later calls by SHA take one round trip again.
            return await database.ScriptEvaluateAsync(script.Text, keys, arguments, CommandFlags.NoScriptCache).ConfigureAwait(false);
        }
    }
}
