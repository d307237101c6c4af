using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace Idempotency.Redis;

/// <summary>
/// The multiplexer behind the store: one the store opened from <see cref="RedisIdempotencyStoreOptions.ConnectionString"/>
/// (opened on first use, disposed with the service provider), or one borrowed from the application.
/// </summary>
internal sealed class RedisConnection : IAsyncDisposable, IDisposable
{
    private readonly Lazy<Task<IConnectionMultiplexer>>? _owned;
    private readonly IConnectionMultiplexer? _borrowed;

    private RedisConnection(ConfigurationOptions configuration)
    {
        _owned = new(() => ConnectAsync(configuration));
    }

    private RedisConnection(IConnectionMultiplexer borrowed)
    {
        _borrowed = borrowed;
    }

    public static RedisConnection Create(IServiceProvider services, RedisIdempotencyStoreOptions options)
    {
        if (options.ConnectionString is not null)
        {
            return new RedisConnection(OwnedConfiguration(options.ConnectionString));
        }

        var multiplexer = options switch
        {
            { ConnectionMultiplexerFactory: { } factory } => factory(services)
                ?? throw new InvalidOperationException("RedisIdempotencyStoreOptions.ConnectionMultiplexerFactory returned null."),
            { ConnectionMultiplexerServiceKey: { } key } => services.GetKeyedService<IConnectionMultiplexer>(key)
                ?? throw new InvalidOperationException(
                    $"The Redis idempotency store was told to use the IConnectionMultiplexer registered with the service key '{key}', " +
                    "and none is registered with that key. Register it (with Aspire: builder.AddKeyedRedisClient(\"" + key + "\"); otherwise " +
                    "services.AddKeyedSingleton<IConnectionMultiplexer>(key, ...)), or pass a connection string to AddRedisStore(\"host:6379\")."),
            _ => services.GetService<IConnectionMultiplexer>() ?? throw new InvalidOperationException(
                "The Redis idempotency store has no connection: register the application's IConnectionMultiplexer (with Aspire: " +
                "builder.AddRedisClient(\"cache\"); otherwise services.AddSingleton<IConnectionMultiplexer>(...)), pass a service key " +
                "for a keyed one (AddRedisStore(serviceKey: \"cache\")), pass a connection string to AddRedisStore(\"host:6379\"), " +
                "or set RedisIdempotencyStoreOptions.ConnectionMultiplexerFactory."),
        };
        return new RedisConnection(multiplexer);
    }

    /// <summary>How the store configures a multiplexer it opens itself from a connection string.</summary>
    internal static ConfigurationOptions OwnedConfiguration(string connectionString)
    {
        var configuration = ConfigurationOptions.Parse(connectionString);

        // Start while Redis is down and reconnect in the background: until then calls fail and requests are refused.
        configuration.AbortOnConnectFail = false;

        // Read and write the socket on the thread pool, not on StackExchange.Redis 2.x's shared dedicated threads: with
        // those, every reply is read by a dedicated thread that has to be woken and then handed back to the pool (about
        // 3.2 futex calls and 3.4 more context switches per new-key request, half of the CPU the store added to it;
        // docs/performance.md).
        // StackExchange.Redis 3.0 uses the thread pool only. A borrowed multiplexer keeps the application's choice.
        configuration.SocketManager = SocketManager.ThreadPool;
        return configuration;
    }

    /// <summary>Gets the multiplexer, connecting on the first call when the store owns it.</summary>
    public ValueTask<IConnectionMultiplexer> GetMultiplexerAsync()
    {
        if (_borrowed is not null)
        {
            return ValueTask.FromResult(_borrowed);
        }

        var connecting = _owned!.Value;
        return connecting.IsCompletedSuccessfully ? ValueTask.FromResult(connecting.Result) : new(connecting);
    }

    public async ValueTask DisposeAsync()
    {
        if (OwnedMultiplexer is { } multiplexer)
        {
            await multiplexer.DisposeAsync().ConfigureAwait(false);
        }
    }

    public void Dispose() => OwnedMultiplexer?.Dispose();

    // Only what this instance opened; a borrowed multiplexer belongs to the application.
    private IConnectionMultiplexer? OwnedMultiplexer =>
        _owned is { IsValueCreated: true } && _owned.Value.IsCompletedSuccessfully ? _owned.Value.Result : null;

    private static async Task<IConnectionMultiplexer> ConnectAsync(ConfigurationOptions configuration) =>
        await ConnectionMultiplexer.ConnectAsync(configuration).ConfigureAwait(false);
}
