using System.ComponentModel.DataAnnotations;
using StackExchange.Redis;

namespace Idempotency.Redis;

/// <summary>Options of the Redis idempotency store (<c>AddRedisStore(...)</c>).</summary>
/// <remarks>
/// The store connects with <see cref="ConnectionString"/> when it is set, otherwise with the multiplexer made by
/// <see cref="ConnectionMultiplexerFactory"/>, otherwise with the <see cref="IConnectionMultiplexer"/> registered in
/// the service collection (the application's own, for example by Aspire's <c>AddRedisClient("cache")</c>), keyed by
/// <see cref="ConnectionMultiplexerServiceKey"/> when that is set (<c>AddKeyedRedisClient("cache")</c>). Set at most
/// one of the first three.
/// </remarks>
public sealed class RedisIdempotencyStoreOptions
{
    /// <summary>
    /// Gets or sets a StackExchange.Redis configuration string, for example
    /// <c>"redis-1:6379,redis-2:6379,password=…,asyncTimeout=2000"</c>. The store then owns its own connection,
    /// opened on first use and closed with the service provider.
    /// </summary>
    /// <value>The default is <see langword="null"/>: use <see cref="ConnectionMultiplexerFactory"/> or the registered multiplexer.</value>
    /// <remarks>
    /// <c>abortConnect</c> is always turned off, so the application starts while Redis is down and the store
    /// reconnects by itself; until it has, store calls fail (the request is refused, never run unprotected). The
    /// connection's <c>asyncTimeout</c> bounds how long a call can wait on an unresponsive Redis. The connection
    /// reads and writes on the thread pool (<c>SocketManager.ThreadPool</c>, what StackExchange.Redis 3.0 always does)
    /// rather than on StackExchange.Redis 2.x's shared dedicated threads, which cost a thread wake-up per reply.
    /// </remarks>
    public string? ConnectionString { get; set; }

    /// <summary>
    /// Gets or sets a factory for the multiplexer the store uses, called once. The store does not dispose a
    /// multiplexer it did not create.
    /// </summary>
    /// <value>The default is <see langword="null"/>: use <see cref="ConnectionString"/> or the registered multiplexer.</value>
    public Func<IServiceProvider, IConnectionMultiplexer>? ConnectionMultiplexerFactory { get; set; }

    /// <summary>
    /// Gets or sets the service key of the application's keyed <see cref="IConnectionMultiplexer"/> to use, for
    /// example the connection name given to Aspire's <c>AddKeyedRedisClient("cache")</c>. The store does not dispose it.
    /// </summary>
    /// <value>
    /// The default is <see langword="null"/>: without <see cref="ConnectionString"/> or
    /// <see cref="ConnectionMultiplexerFactory"/>, the store uses the multiplexer registered without a key.
    /// </value>
    /// <remarks><c>AddRedisStore(serviceKey: "cache")</c> sets it.</remarks>
    public object? ConnectionMultiplexerServiceKey { get; set; }

    /// <summary>
    /// Gets or sets the prefix of every key the store writes, so several services (or environments) can share
    /// one Redis without seeing each other's records.
    /// </summary>
    /// <value>The default is <c>"idempotency:"</c>.</value>
    /// <remarks>
    /// It must not be empty and must not contain <c>{</c> or <c>}</c>, except as an empty pair <c>{}</c>: in Redis
    /// Cluster a hash tag in the prefix would put every record in one slot, on one node. An empty pair before the
    /// client's key (<c>"orders:{}:"</c>) makes Redis Cluster hash the whole key, so braces in a client's own key
    /// (<c>{x}1</c>, <c>{x}2</c>) cannot gather records on one node of the attacker's choosing; without it, they can.
    /// Changing the prefix of a running service orphans its records until their retention ends (retries of requests
    /// made before the change run again): choose it before going live.
    /// No prefix may begin another one in the same Redis (<c>svc</c> and <c>svc2</c>): storage keys start with a digit,
    /// so such prefixes can produce the same key.
    /// </remarks>
    [Required(ErrorMessage = "RedisIdempotencyStoreOptions.KeyPrefix must not be empty: it keeps idempotency records apart from every other key in Redis.")]
    [RegularExpression("^(?:[^{}]|\\{\\})*$", ErrorMessage = "RedisIdempotencyStoreOptions.KeyPrefix must not contain '{{' or '}}' other than an empty pair '{{}}': in Redis Cluster a hash tag in the prefix would put every record on one node.")]
    public string KeyPrefix { get; set; } = RedisStoreDefaults.KeyPrefix;

    /// <summary>
    /// Gets or sets what happens at start-up when Redis's <c>maxmemory-policy</c> is not <c>noeviction</c>.
    /// </summary>
    /// <value>The default is <see cref="RedisEvictionPolicyCheck.Warn"/>.</value>
    /// <remarks>
    /// The policy is read with <c>CONFIG GET maxmemory-policy</c>, or from <c>INFO memory</c> where <c>CONFIG</c> is
    /// disabled (as on most managed Redis services). When neither answers, or Redis is unreachable at start-up, a
    /// warning says the policy could not be checked, whatever this option says (except
    /// <see cref="RedisEvictionPolicyCheck.Ignore"/>). On Microsoft Garnet, which has no such policy, the check reads
    /// from <c>INFO store</c> whether Garnet was started with <c>--storage-tier</c>; without it Garnet drops its oldest
    /// records once its memory fills, which counts as a policy that evicts. The check runs once, in a hosted service
    /// when the host starts.
    /// </remarks>
    [EnumDataType(typeof(RedisEvictionPolicyCheck), ErrorMessage = "RedisIdempotencyStoreOptions.EvictionPolicyCheck must be Warn, Fail or Ignore.")]
    public RedisEvictionPolicyCheck EvictionPolicyCheck { get; set; } = RedisStoreDefaults.EvictionPolicyCheck;

    /// <summary>
    /// Gets or sets how long an in-flight record stays in Redis after its lease has ended.
    /// </summary>
    /// <value>The default is 1 minute.</value>
    /// <remarks>
    /// Once the lease ends, any request with the key may claim it again. Until one does, the original owner can
    /// still complete (or release) its claim, so an operation that overran its lease is recorded instead of being
    /// run again by the next retry. After the grace period the record expires and a late completion reports
    /// <see cref="CompletionStatus.ClaimLost"/>. The grace only costs memory for claims whose owner died.
    /// </remarks>
    [TimeSpanRange("00:00:00", "1.00:00:00")]
    public TimeSpan LeaseGracePeriod { get; set; } = RedisStoreDefaults.LeaseGracePeriod;

    /// <summary>
    /// Gets or sets how many replicas must acknowledge a claim and a completion (Redis <c>WAIT</c>) before the store
    /// reports them, so that an acknowledged record survives the fail-over of its primary; 0 turns the wait off.
    /// </summary>
    /// <value>The default is 0: a record is acknowledged once its primary has it.</value>
    /// <remarks>
    /// <para>
    /// Redis replicates asynchronously: without the wait, a record acknowledged by the primary but not yet copied
    /// to its replica is lost when the replica takes over, and a retry of that request runs its operation again.
    /// With the wait, the store sends <c>WAIT</c> right behind each claim and completion script, on the same
    /// connection, in the same round trip.
    /// </para>
    /// <para>
    /// When fewer replicas acknowledge within <see cref="ReplicaAcknowledgementTimeout"/>, a claim is released and
    /// fails (the request is refused, the operation does not run), and a completion fails (the outcome stays on the
    /// primary, where a retry replays it; the caller learns that the outcome was not confirmed). With a replica
    /// down, every claim on its primary fails: set this no higher than the replicas each primary can lose.
    /// </para>
    /// </remarks>
    [Range(0, 100)]
    public int ReplicaAcknowledgements { get; set; } = RedisStoreDefaults.ReplicaAcknowledgements;

    /// <summary>
    /// Gets or sets how long a claim or a completion waits for <see cref="ReplicaAcknowledgements"/> replicas.
    /// </summary>
    /// <value>The default is 500 milliseconds.</value>
    /// <remarks>
    /// Redis blocks the connection while <c>WAIT</c> waits, and StackExchange.Redis shares one connection per server
    /// among all callers: a replica that does not answer holds every call to that primary up to this long. It must
    /// be shorter than the connection's <c>asyncTimeout</c>, between 1 millisecond and 1 minute.
    /// </remarks>
    [TimeSpanRange("00:00:00.001", "00:01:00")]
    public TimeSpan ReplicaAcknowledgementTimeout { get; set; } = RedisStoreDefaults.ReplicaAcknowledgementTimeout;
}
