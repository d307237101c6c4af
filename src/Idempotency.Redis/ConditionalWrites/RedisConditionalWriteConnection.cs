using StackExchange.Redis;

namespace Idempotency.Redis;

/// <summary>The application's multiplexer, resolved once and shared by both conditional-write stores; never disposed by them.</summary>
internal sealed record RedisConditionalWriteConnection(IConnectionMultiplexer Multiplexer);
