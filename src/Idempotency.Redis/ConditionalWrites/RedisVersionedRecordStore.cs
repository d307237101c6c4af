using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Idempotency.Redis;

/// <summary>
/// Versioned records in Redis: one hash per record (<c>fmt</c>, <c>version</c>, <c>value</c>) at
/// <c>{prefix}record:{id}</c>. Create and update are one Lua script each, so the version check and the write are one
/// atomic round trip; reads are one <c>HMGET</c>. Records never expire.
/// </summary>
internal sealed class RedisVersionedRecordStore : IVersionedRecordStore
{
    private const long NotFoundReply = 0;
    private const long AppliedReply = 1;
    private const long ConflictReply = 2;

    private static readonly RedisValue[] s_fields = ["fmt", "version", "value"];

    private readonly IConnectionMultiplexer _multiplexer;
    private readonly string _keyPrefix;
    private readonly ILogger _logger;

    public RedisVersionedRecordStore(IConnectionMultiplexer multiplexer, IOptions<RedisConditionalWriteOptions> options, ILogger<RedisVersionedRecordStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(multiplexer);
        ArgumentNullException.ThrowIfNull(options);
        _multiplexer = multiplexer;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _keyPrefix = options.Value.KeyPrefix + "record:";
    }

    public async ValueTask<VersionedRecord?> GetAsync(string id, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        cancellationToken.ThrowIfCancellationRequested();
        var key = Key(id);
        var read = _multiplexer.GetDatabase().HashGetAsync(key, s_fields);
        var fields = cancellationToken.CanBeCanceled ? await read.WaitAsync(cancellationToken).ConfigureAwait(false) : await read.ConfigureAwait(false);
        if (fields[0].IsNull)
        {
            return null;
        }

        if (fields[0] != "1" || !long.TryParse((string?)fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var version))
        {
            throw RedisConditionalWriteScripts.UnreadableKey(key, null);
        }

        return new VersionedRecord(version, (byte[]?)fields[2] ?? []);
    }

    public async ValueTask<ConditionalWriteResult> CreateAsync(string id, ReadOnlyMemory<byte> value, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        var script = RedisConditionalWriteScripts.Create;
        var reply = await RedisConditionalWriteScripts.EvaluateAsync(_multiplexer.GetDatabase(), script, Key(id), [value], _logger, cancellationToken).ConfigureAwait(false);
        return Read(script, reply);
    }

    public async ValueTask<ConditionalWriteResult> UpdateIfVersionAsync(string id, long expectedVersion, ReadOnlyMemory<byte> value, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        ArgumentOutOfRangeException.ThrowIfNegative(expectedVersion);
        var script = RedisConditionalWriteScripts.Update;
        RedisValue[] arguments = [expectedVersion.ToString(CultureInfo.InvariantCulture), value];
        var reply = await RedisConditionalWriteScripts.EvaluateAsync(_multiplexer.GetDatabase(), script, Key(id), arguments, _logger, cancellationToken).ConfigureAwait(false);
        return Read(script, reply);
    }

    private static ConditionalWriteResult Read(RedisScript script, RedisResult reply)
    {
        var parts = reply.Resp2Type == ResultType.Array ? (RedisResult[]?)reply : null;
        return (parts is { Length: > 0 } ? (long)parts[0] : -1) switch
        {
            NotFoundReply when parts!.Length == 1 => ConditionalWriteResult.NotFound(),
            AppliedReply when parts!.Length == 2 => ConditionalWriteResult.Applied((long)parts[1]),
            ConflictReply when parts!.Length == 2 => ConditionalWriteResult.VersionConflict((long)parts[1]),
            _ => throw RedisConditionalWriteScripts.UnexpectedReply(script, reply),
        };
    }

    private RedisKey Key(string id) => _keyPrefix + id;
}
