using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Idempotency.Redis;

/// <summary>
/// Append-only streams in Redis: one list per stream at <c>{prefix}stream:{id}</c>, element i holding the payload of
/// entry i + 1, so the list's length is the last sequence number. Append-if-last is one Lua script (one atomic round
/// trip); reads are one <c>LLEN</c> or <c>LRANGE</c>. Nothing ever trims a stream.
/// </summary>
internal sealed class RedisAppendOnlyStreamStore : IAppendOnlyStreamStore
{
    private const long AppliedReply = 1;
    private const long ConflictReply = 2;

    private readonly IConnectionMultiplexer _multiplexer;
    private readonly string _keyPrefix;
    private readonly ILogger _logger;

    public RedisAppendOnlyStreamStore(IConnectionMultiplexer multiplexer, IOptions<RedisConditionalWriteOptions> options, ILogger<RedisAppendOnlyStreamStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(multiplexer);
        ArgumentNullException.ThrowIfNull(options);
        _multiplexer = multiplexer;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _keyPrefix = options.Value.KeyPrefix + "stream:";
    }

    public async ValueTask<ConditionalWriteResult> AppendIfLastAsync(string stream, long expectedLastSequence, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(stream);
        ArgumentOutOfRangeException.ThrowIfNegative(expectedLastSequence);
        var script = RedisConditionalWriteScripts.Append;
        RedisValue[] arguments = [expectedLastSequence.ToString(CultureInfo.InvariantCulture), payload];
        var reply = await RedisConditionalWriteScripts.EvaluateAsync(_multiplexer.GetDatabase(), script, Key(stream), arguments, _logger, cancellationToken).ConfigureAwait(false);

        var parts = reply.Resp2Type == ResultType.Array ? (RedisResult[]?)reply : null;
        return (parts is { Length: 2 } ? (long)parts[0] : -1) switch
        {
            AppliedReply => ConditionalWriteResult.Applied((long)parts![1]),
            ConflictReply => ConditionalWriteResult.VersionConflict((long)parts![1]),
            _ => throw RedisConditionalWriteScripts.UnexpectedReply(script, reply),
        };
    }

    public async ValueTask<long> GetLastSequenceAsync(string stream, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(stream);
        var key = Key(stream);
        return await CallAsync(key, _multiplexer.GetDatabase().ListLengthAsync(key), cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<IReadOnlyList<StreamEntry>> ReadAsync(string stream, long fromSequence, int maxCount, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(stream);
        ArgumentOutOfRangeException.ThrowIfLessThan(fromSequence, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);
        var key = Key(stream);
        var start = fromSequence - 1;
        var values = await CallAsync(key, _multiplexer.GetDatabase().ListRangeAsync(key, start, start + maxCount - 1), cancellationToken).ConfigureAwait(false);

        var entries = new StreamEntry[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            entries[i] = new StreamEntry(fromSequence + i, (byte[]?)values[i] ?? []);
        }

        return entries;
    }

    private static async Task<T> CallAsync<T>(RedisKey key, Task<T> call, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            return cancellationToken.CanBeCanceled ? await call.WaitAsync(cancellationToken).ConfigureAwait(false) : await call.ConfigureAwait(false);
        }
        catch (RedisServerException ex) when (ex.Message.StartsWith("WRONGTYPE", StringComparison.Ordinal))
        {
            throw RedisConditionalWriteScripts.UnreadableKey(key, ex);
        }
    }

    private RedisKey Key(string stream) => _keyPrefix + stream;
}
