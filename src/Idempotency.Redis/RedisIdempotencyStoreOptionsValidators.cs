using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Idempotency.Redis;

/// <summary>Validates <see cref="RedisIdempotencyStoreOptions"/> at start-up (source-generated from its attributes).</summary>
[OptionsValidator]
internal sealed partial class RedisIdempotencyStoreOptionsValidator : IValidateOptions<RedisIdempotencyStoreOptions>;

/// <summary>Validates how <see cref="RedisIdempotencyStoreOptions"/> says to connect, which attributes cannot express.</summary>
internal sealed class RedisIdempotencyStoreConnectionValidator : IValidateOptions<RedisIdempotencyStoreOptions>
{
    public ValidateOptionsResult Validate(string? name, RedisIdempotencyStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.ConnectionMultiplexerServiceKey is not null && (options.ConnectionString is not null || options.ConnectionMultiplexerFactory is not null))
        {
            return ValidateOptionsResult.Fail(
                "RedisIdempotencyStoreOptions.ConnectionMultiplexerServiceKey is set together with " +
                (options.ConnectionString is not null ? "ConnectionString" : "ConnectionMultiplexerFactory") +
                "; set only one: the service key selects the application's keyed IConnectionMultiplexer.");
        }

        if (options.ConnectionString is null)
        {
            return ValidateOptionsResult.Success;
        }

        if (options.ConnectionMultiplexerFactory is not null)
        {
            return ValidateOptionsResult.Fail(
                "RedisIdempotencyStoreOptions.ConnectionString and ConnectionMultiplexerFactory are both set; set only one " +
                "(AddRedisStore was probably called twice with different connections).");
        }

        try
        {
            var configuration = ConfigurationOptions.Parse(options.ConnectionString);
            if (configuration.EndPoints.Count == 0)
            {
                return ValidateOptionsResult.Fail("RedisIdempotencyStoreOptions.ConnectionString names no Redis endpoint (expected for example \"localhost:6379\").");
            }

            // StackExchange.Redis would give up on the blocked connection before WAIT answers.
            if (options.ReplicaAcknowledgements > 0 && options.ReplicaAcknowledgementTimeout.TotalMilliseconds >= configuration.AsyncTimeout)
            {
                return ValidateOptionsResult.Fail(
                    $"RedisIdempotencyStoreOptions.ReplicaAcknowledgementTimeout ({options.ReplicaAcknowledgementTimeout.TotalMilliseconds} ms) must be shorter " +
                    $"than the connection's asyncTimeout ({configuration.AsyncTimeout} ms): the connection would time out before the replicas answer.");
            }
        }
        catch (ArgumentException ex)
        {
            return ValidateOptionsResult.Fail($"RedisIdempotencyStoreOptions.ConnectionString is not a valid StackExchange.Redis configuration string: {ex.Message}");
        }

        return ValidateOptionsResult.Success;
    }
}
