using Idempotency.Redis.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Idempotency.Redis.Tests;

public sealed class RedisIdempotencyStoreOptionsTests
{
    [Fact]
    public void Options_HaveTheDocumentedDefaults()
    {
        var options = new RedisIdempotencyStoreOptions();

        Assert.Null(options.ConnectionString);
        Assert.Null(options.ConnectionMultiplexerFactory);
        Assert.Null(options.ConnectionMultiplexerServiceKey);
        Assert.Equal("idempotency:", options.KeyPrefix);
        Assert.Equal(RedisEvictionPolicyCheck.Warn, options.EvictionPolicyCheck);
        Assert.Equal(TimeSpan.FromMinutes(1), options.LeaseGracePeriod);
        Assert.Equal(0, options.ReplicaAcknowledgements);
        Assert.Equal(TimeSpan.FromMilliseconds(500), options.ReplicaAcknowledgementTimeout);
    }

    [Fact]
    public void Validation_Succeeds_ForTheDefaults()
    {
        Assert.Empty(Failures(new RedisIdempotencyStoreOptions()));
    }

    [Theory]
    [InlineData("")]
    [InlineData(null)]
    public void Validation_Fails_WhenKeyPrefixIsEmpty(string? prefix)
    {
        var failures = Failures(new RedisIdempotencyStoreOptions { KeyPrefix = prefix! });

        Assert.Equal(["KeyPrefix: RedisIdempotencyStoreOptions.KeyPrefix must not be empty: it keeps idempotency records apart from every other key in Redis."], failures);
    }

    [Theory]
    [InlineData("orders:{}:")]
    [InlineData("{}")]
    public void Validation_Accepts_AnEmptyBracePairInTheKeyPrefix(string prefix)
    {
        Assert.Empty(Failures(new RedisIdempotencyStoreOptions { KeyPrefix = prefix }));
    }

    [Theory]
    [InlineData("{orders}:")]
    [InlineData("orders}")]
    [InlineData("orders:{}{x}:")]
    public void Validation_Fails_WhenKeyPrefixContainsAHashTagBrace(string prefix)
    {
        var failures = Failures(new RedisIdempotencyStoreOptions { KeyPrefix = prefix });

        Assert.Equal(["KeyPrefix: RedisIdempotencyStoreOptions.KeyPrefix must not contain '{' or '}' other than an empty pair '{}': in Redis Cluster a hash tag in the prefix would put every record on one node."], failures);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(24 * 60 * 60 + 1)]
    public void Validation_Fails_WhenLeaseGracePeriodIsOutOfRange(int seconds)
    {
        var failures = Failures(new RedisIdempotencyStoreOptions { LeaseGracePeriod = TimeSpan.FromSeconds(seconds) });

        Assert.Equal(["LeaseGracePeriod: The field RedisIdempotencyStoreOptions.LeaseGracePeriod must be between 00:00:00 and 1.00:00:00."], failures);
    }

    [Fact]
    public void Validation_Fails_WhenEvictionPolicyCheckIsUndefined()
    {
        var failures = Failures(new RedisIdempotencyStoreOptions { EvictionPolicyCheck = (RedisEvictionPolicyCheck)42 });

        Assert.Equal(["EvictionPolicyCheck: RedisIdempotencyStoreOptions.EvictionPolicyCheck must be Warn, Fail or Ignore."], failures);
    }

    [Fact]
    public void Validation_Fails_WhenBothAConnectionStringAndAFactoryAreSet()
    {
        var failures = Failures(new RedisIdempotencyStoreOptions { ConnectionString = "localhost:6379", ConnectionMultiplexerFactory = _ => null! });

        Assert.Equal(
            ["RedisIdempotencyStoreOptions.ConnectionString and ConnectionMultiplexerFactory are both set; set only one (AddRedisStore was probably called twice with different connections)."],
            failures);
    }

    [Fact]
    public void Validation_Fails_WhenAServiceKeyIsSetWithAFactory()
    {
        var failures = Failures(new RedisIdempotencyStoreOptions { ConnectionMultiplexerServiceKey = "cache", ConnectionMultiplexerFactory = _ => null! });

        Assert.Equal(
            ["RedisIdempotencyStoreOptions.ConnectionMultiplexerServiceKey is set together with ConnectionMultiplexerFactory; set only one: the service key selects the application's keyed IConnectionMultiplexer."],
            failures);
    }

    [Fact]
    public void Validation_Fails_WhenTheConnectionStringNamesNoEndpoint()
    {
        var failures = Failures(new RedisIdempotencyStoreOptions { ConnectionString = "password=secret" });

        Assert.Equal(["RedisIdempotencyStoreOptions.ConnectionString names no Redis endpoint (expected for example \"localhost:6379\")."], failures);
    }

    [Fact]
    public void Validation_Fails_WhenTheConnectionStringIsNotAConfigurationString()
    {
        var failures = Failures(new RedisIdempotencyStoreOptions { ConnectionString = "localhost:6379,noSuchOption=1" });

        var failure = Assert.Single(failures);
        Assert.StartsWith("RedisIdempotencyStoreOptions.ConnectionString is not a valid StackExchange.Redis configuration string: ", failure, StringComparison.Ordinal);
        Assert.Contains("noSuchOption", failure, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(101)]
    public void Validation_Fails_WhenReplicaAcknowledgementsIsOutOfRange(int replicas)
    {
        var failures = Failures(new RedisIdempotencyStoreOptions { ReplicaAcknowledgements = replicas });

        Assert.Equal(["ReplicaAcknowledgements: The field RedisIdempotencyStoreOptions.ReplicaAcknowledgements must be between 0 and 100."], failures);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(60_001)]
    public void Validation_Fails_WhenReplicaAcknowledgementTimeoutIsOutOfRange(int milliseconds)
    {
        // 0 would be WAIT's "forever", which would block the shared connection for good.
        var failures = Failures(new RedisIdempotencyStoreOptions { ReplicaAcknowledgementTimeout = TimeSpan.FromMilliseconds(milliseconds) });

        Assert.Equal(["ReplicaAcknowledgementTimeout: The field RedisIdempotencyStoreOptions.ReplicaAcknowledgementTimeout must be between 00:00:00.0010000 and 00:01:00."], failures);
    }

    [Fact]
    public void Validation_Fails_WhenReplicaAcknowledgementTimeoutIsNotShorterThanTheConnectionsAsyncTimeout()
    {
        var failures = Failures(new RedisIdempotencyStoreOptions
        {
            ConnectionString = "localhost:6379,asyncTimeout=1000",
            ReplicaAcknowledgements = 1,
            ReplicaAcknowledgementTimeout = TimeSpan.FromSeconds(1),
        });

        Assert.Equal(
            ["RedisIdempotencyStoreOptions.ReplicaAcknowledgementTimeout (1000 ms) must be shorter than the connection's asyncTimeout (1000 ms): the connection would time out before the replicas answer."],
            failures);
    }

    [Fact]
    public void Validation_IgnoresTheTimeoutAgainstAsyncTimeout_WhenReplicaAcknowledgementIsOff()
    {
        Assert.Empty(Failures(new RedisIdempotencyStoreOptions { ConnectionString = "localhost:6379,asyncTimeout=100", ReplicaAcknowledgementTimeout = TimeSpan.FromSeconds(1) }));
    }

    [Fact]
    public async Task Startup_FailsWithTheValidationMessage_WhenOptionsAreInvalid()
    {
        await using var host = RedisStoreHost.Create(idempotency => idempotency.AddRedisStore("localhost:6379", options => options.KeyPrefix = "{x}"));

        var error = await Assert.ThrowsAsync<OptionsValidationException>(host.StartAsync);

        Assert.Contains("must not contain '{' or '}'", error.Message, StringComparison.Ordinal);
    }

    private static IReadOnlyList<string> Failures(RedisIdempotencyStoreOptions options)
    {
        IValidateOptions<RedisIdempotencyStoreOptions>[] validators = [new RedisIdempotencyStoreOptionsValidator(), new RedisIdempotencyStoreConnectionValidator()];
        return validators.Select(v => v.Validate(Options.DefaultName, options)).Where(r => r.Failed).SelectMany(r => r.Failures!).ToList();
    }
}
