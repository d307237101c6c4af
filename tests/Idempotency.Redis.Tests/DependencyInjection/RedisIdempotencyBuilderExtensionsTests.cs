using Idempotency.Redis.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using StackExchange.Redis;
using static Idempotency.Redis.Tests.Infrastructure.TestPayloads;

namespace Idempotency.Redis.Tests.DependencyInjection;

[Collection(RedisCollection.Name)]
public sealed class RedisIdempotencyBuilderExtensionsTests(RedisServerFixture redis)
{
    [Fact]
    public void AddRedisStore_ThrowsArgumentException_ForMissingArguments()
    {
        var builder = new ServiceCollection().AddIdempotentExecutor();

        Assert.Throws<ArgumentNullException>("builder", () => ((IIdempotencyBuilder)null!).AddRedisStore("localhost"));
        Assert.Throws<ArgumentNullException>("builder", () => ((IIdempotencyBuilder)null!).AddRedisStore(_ => null!));
        Assert.Throws<ArgumentNullException>("builder", () => ((IIdempotencyBuilder)null!).AddRedisStore());
        Assert.Throws<ArgumentNullException>("connectionString", () => builder.AddRedisStore((string)null!));
        Assert.Throws<ArgumentException>("connectionString", () => builder.AddRedisStore(" "));
        Assert.Throws<ArgumentNullException>("connectionMultiplexerFactory", () => builder.AddRedisStore((Func<IServiceProvider, IConnectionMultiplexer>)null!));
    }

    [Fact]
    public async Task AddRedisStore_ReplacesTheDefaultStore_AndReturnsTheSameBuilder()
    {
        IIdempotencyBuilder? returned = null;
        await using var host = RedisStoreHost.Create(idempotency => returned = idempotency.AddRedisStore("127.0.0.1:1"));

        Assert.IsType<RedisIdempotencyStore>(host.Store);
        Assert.NotNull(returned);
    }

    [Fact]
    public async Task AddRedisStore_CalledTwice_RegistersOneStartupCheck()
    {
        await using var host = RedisStoreHost.Create(idempotency => idempotency.AddRedisStore("127.0.0.1:1").AddRedisStore("127.0.0.1:1"));

        Assert.Single(host.Services.GetServices<IHostedService>().OfType<RedisStoreInitializer>());
    }

    [Fact]
    public async Task AddRedisStore_UsesTheRegisteredMultiplexer_AndLeavesItOpen()
    {
        await using var appMultiplexer = await ConnectionMultiplexer.ConnectAsync(redis.Server.ConnectionString());
        var key = NewKey();

        await using (var host = await RedisStoreHost.StartAsync(
            idempotency => idempotency.AddRedisStore(),
            services => services.AddSingleton<IConnectionMultiplexer>(appMultiplexer)))
        {
            Assert.Equal(ClaimStatus.Claimed, (await host.Store.ClaimAsync(Claim(key, NewOwner()), default)).Status);
        }

        Assert.True(appMultiplexer.IsConnected, "The store must not dispose a multiplexer it borrowed.");
        Assert.True(await appMultiplexer.GetDatabase().KeyExistsAsync("idempotency:" + key));
    }

    [Fact]
    public async Task AddRedisStore_CallsTheFactoryOnce_AndLeavesItsMultiplexerOpen()
    {
        await using var appMultiplexer = await ConnectionMultiplexer.ConnectAsync(redis.Server.ConnectionString());
        var calls = 0;

        await using (var host = await RedisStoreHost.StartAsync(idempotency => idempotency.AddRedisStore(_ =>
        {
            Interlocked.Increment(ref calls);
            return appMultiplexer;
        })))
        {
            await host.Store.ClaimAsync(Claim(NewKey(), NewOwner()), default);
            await host.Store.ClaimAsync(Claim(NewKey(), NewOwner()), default);
        }

        Assert.Equal(1, calls);
        Assert.True(appMultiplexer.IsConnected, "The store must not dispose a multiplexer it did not create.");
    }

    [Fact]
    public void AddRedisStore_OpensItsOwnConnection_OnTheThreadPoolSocketManager_KeepingTheConnectionStringsSettings()
    {
        // StackExchange.Redis 2.x would otherwise read every reply on its shared dedicated threads, a wake-up and a
        // hand-over to the thread pool per reply (docs/performance.md, "Redis: the price of a round trip").
        var configuration = RedisConnection.OwnedConfiguration("127.0.0.1:1,asyncTimeout=2000,abortConnect=true");

        Assert.Same(SocketManager.ThreadPool, configuration.SocketManager);
        Assert.False(configuration.AbortOnConnectFail);
        Assert.Equal(2000, configuration.AsyncTimeout);
    }

    [Fact]
    public async Task AddRedisStore_ClosesTheConnectionItOpened_WhenTheProviderIsDisposed()
    {
        IConnectionMultiplexer multiplexer;
        await using (var host = await RedisStoreHost.StartAsync(idempotency => idempotency.AddRedisStore(redis.Server.ConnectionString())))
        {
            await host.Store.ClaimAsync(Claim(NewKey(), NewOwner()), default);
            multiplexer = await host.Services.GetRequiredService<RedisConnection>().GetMultiplexerAsync();
            Assert.True(multiplexer.IsConnected);
        }

        Assert.False(multiplexer.IsConnected);
    }

    [Fact]
    public async Task AddRedisStore_ClosesTheConnectionItOpened_WhenTheProviderIsDisposedSynchronously()
    {
        var services = new ServiceCollection();
        services.AddIdempotentExecutor().AddRedisStore(redis.Server.ConnectionString());
        var provider = services.BuildServiceProvider();
        var store = provider.GetRequiredService<IIdempotencyStore>();
        Assert.Equal("redis", store.Name); // the store tag of its telemetry: fixed, never derived from the class name
        await store.ClaimAsync(Claim(NewKey(), NewOwner()), default);
        var multiplexer = await provider.GetRequiredService<RedisConnection>().GetMultiplexerAsync();

        provider.Dispose();

        Assert.False(multiplexer.IsConnected);
    }

    [Fact]
    public async Task Startup_Throws_WhenNoConnectionIsConfiguredAndNoMultiplexerIsRegistered()
    {
        await using var host = RedisStoreHost.Create(idempotency => idempotency.AddRedisStore());

        var error = await Assert.ThrowsAsync<InvalidOperationException>(host.StartAsync);

        Assert.Equal(
            "The Redis idempotency store has no connection: register the application's IConnectionMultiplexer (with Aspire: " +
            "builder.AddRedisClient(\"cache\"); otherwise services.AddSingleton<IConnectionMultiplexer>(...)), pass a service key " +
            "for a keyed one (AddRedisStore(serviceKey: \"cache\")), pass a connection string to AddRedisStore(\"host:6379\"), " +
            "or set RedisIdempotencyStoreOptions.ConnectionMultiplexerFactory.",
            error.Message);
    }

    // Aspire's AddKeyedRedisClient("cache") registers AddKeyedSingleton<IConnectionMultiplexer>("cache", ...); so does this test.
    [Fact]
    public async Task AddRedisStore_UsesTheKeyedMultiplexerNamedByServiceKey_AndLeavesItOpen()
    {
        await using var appMultiplexer = await ConnectionMultiplexer.ConnectAsync(redis.Server.ConnectionString());
        await using var otherServer = await RedisServer.StartAsync();
        await using var otherMultiplexer = await ConnectionMultiplexer.ConnectAsync(otherServer.ConnectionString());
        var key = NewKey();

        await using (var host = await RedisStoreHost.StartAsync(
            idempotency => idempotency.AddRedisStore(serviceKey: "cache"),
            services =>
            {
                services.AddSingleton<IConnectionMultiplexer>(otherMultiplexer);
                services.AddKeyedSingleton<IConnectionMultiplexer>("cache", appMultiplexer);
            }))
        {
            Assert.Equal(ClaimStatus.Claimed, (await host.Store.ClaimAsync(Claim(key, NewOwner()), default)).Status);
        }

        Assert.True(appMultiplexer.IsConnected, "The store must not dispose a multiplexer it borrowed.");
        Assert.True(await appMultiplexer.GetDatabase().KeyExistsAsync("idempotency:" + key));
        Assert.False(await otherMultiplexer.GetDatabase().KeyExistsAsync("idempotency:" + key));
    }

    [Fact]
    public async Task Startup_Throws_SayingWhatToRegister_WhenTheKeyedMultiplexerIsMissing()
    {
        await using var appMultiplexer = await ConnectionMultiplexer.ConnectAsync(redis.Server.ConnectionString());
        await using var host = RedisStoreHost.Create(
            idempotency => idempotency.AddRedisStore(serviceKey: "cache"),
            services => services.AddKeyedSingleton<IConnectionMultiplexer>("sessions", appMultiplexer));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(host.StartAsync);

        Assert.Equal(
            "The Redis idempotency store was told to use the IConnectionMultiplexer registered with the service key 'cache', " +
            "and none is registered with that key. Register it (with Aspire: builder.AddKeyedRedisClient(\"cache\"); otherwise " +
            "services.AddKeyedSingleton<IConnectionMultiplexer>(key, ...)), or pass a connection string to AddRedisStore(\"host:6379\").",
            error.Message);
    }

    [Fact]
    public async Task Startup_Throws_WhenAServiceKeyAndAConnectionStringAreBothGiven()
    {
        await using var host = RedisStoreHost.Create(idempotency => idempotency.AddRedisStore(o => o.ConnectionString = redis.Server.ConnectionString(), serviceKey: "cache"));

        var error = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(host.StartAsync);

        Assert.Contains("ConnectionMultiplexerServiceKey is set together with ConnectionString", error.Message, StringComparison.Ordinal);
    }
}
