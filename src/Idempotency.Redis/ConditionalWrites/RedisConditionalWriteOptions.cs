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

    internal const string DefaultKeyPrefix = "conditional:";
}
