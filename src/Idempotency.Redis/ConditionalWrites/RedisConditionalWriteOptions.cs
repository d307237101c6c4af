using System.ComponentModel.DataAnnotations;
using StackExchange.Redis;

namespace Idempotency.Redis;

/// <summary>Options of the Redis conditional-write stores (<c>services.AddRedisConditionalWrites(...)</c>).</summary>
public sealed class RedisConditionalWriteOptions
{
    /// <summary>
    /// Gets or sets a factory for the multiplexer the stores use, called once. The stores never dispose it: it belongs
    /// to the application.
    /// </summary>
    /// <value>The default is <see langword="null"/>: use the <see cref="IConnectionMultiplexer"/> registered in the service collection.</value>
    public Func<IServiceProvider, IConnectionMultiplexer>? ConnectionMultiplexerFactory { get; set; }

    /// <summary>
    /// Gets or sets the prefix of every key the stores write: records live at <c>{prefix}record:{id}</c> (a hash) and
    /// streams at <c>{prefix}stream:{id}</c> (a list).
    /// </summary>
    /// <value>The default is <c>"conditional:"</c>.</value>
    /// <remarks>
    /// It must not be empty and must not contain <c>{</c> or <c>}</c>: in Redis Cluster a hash tag in the prefix would
    /// put every record on one node. Each operation touches one key, so the stores work on a cluster.
    /// </remarks>
    [Required(ErrorMessage = "RedisConditionalWriteOptions.KeyPrefix must not be empty: it keeps the records apart from every other key in Redis.")]
    [RegularExpression("^[^{}]*$", ErrorMessage = "RedisConditionalWriteOptions.KeyPrefix must not contain '{{' or '}}': in Redis Cluster a hash tag in the prefix would put every record on one node.")]
    public string KeyPrefix { get; set; } = DefaultKeyPrefix;

    /// <summary>
    /// Gets or sets what start-up does when Redis's <c>maxmemory-policy</c> is not <c>noeviction</c>: under any other
    /// policy Redis may drop a record or a stream to free memory, and the next write finds none. An update expecting
    /// version 5 then sees "no such record", a create starts the record again at version 1 (where a writer still holding
    /// an old version 1 overwrites it), and an append expecting entry 0 starts the stream again at entry 1: lost updates.
    /// </summary>
    /// <value>The default is <see cref="RedisEvictionPolicyCheck.Warn"/>.</value>
    /// <remarks>
    /// Read as the idempotency store reads it (<see cref="RedisIdempotencyStoreOptions.EvictionPolicyCheck"/>): with
    /// <c>CONFIG GET maxmemory-policy</c>, or from <c>INFO memory</c> where <c>CONFIG</c> is disabled, and on Garnet
    /// from <c>INFO store</c> (memory-only Garnet counts as a policy that evicts). A policy that cannot be read, or a
    /// Redis that is not connected when the host starts, is logged as a Warning in every mode. The check runs once, in
    /// a hosted service when the host starts.
    /// </remarks>
    [EnumDataType(typeof(RedisEvictionPolicyCheck), ErrorMessage = "RedisConditionalWriteOptions.EvictionPolicyCheck must be Warn, Fail or Ignore.")]
    public RedisEvictionPolicyCheck EvictionPolicyCheck { get; set; } = RedisStoreDefaults.EvictionPolicyCheck;

    internal const string DefaultKeyPrefix = "conditional:";
}
