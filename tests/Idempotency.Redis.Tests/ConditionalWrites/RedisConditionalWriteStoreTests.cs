using System.Text;
using Idempotency.Redis.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Idempotency.Redis.Tests.ConditionalWrites;

/// <summary>What the Redis conditional-write stores keep in Redis, how they fail, and how they are registered.</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisConditionalWriteStoreTests(RedisServerFixture redis) : IAsyncLifetime
{
    private RedisAdmin? _admin;

    private IDatabase Redis => _admin!.Database;

    public async Task InitializeAsync() => _admin = await RedisAdmin.ConnectAsync(redis.Server);

    public async Task DisposeAsync()
    {
        if (_admin is not null)
        {
            await _admin.DisposeAsync();
        }
    }

    [Fact]
    public async Task Record_IsAHashUnderThePrefix_WithFormatVersionAndValue()
    {
        await using var host = await RedisConditionalWriteHost.StartAsync(redis.Server.ConnectionString());
        var id = NewId();

        await host.Records.CreateAsync(id, Encoding.UTF8.GetBytes("v1"), default);
        await host.Records.UpdateIfVersionAsync(id, 1, Encoding.UTF8.GetBytes("v2"), default);
        var fields = (await Redis.HashGetAllAsync($"conditional:record:{id}")).ToDictionary(e => (string)e.Name!, e => (string?)e.Value);

        Assert.Equal(new Dictionary<string, string?> { ["fmt"] = "1", ["version"] = "2", ["value"] = "v2" }, fields);
        Assert.Null(await Redis.KeyTimeToLiveAsync($"conditional:record:{id}")); // never expires
    }

    [Fact]
    public async Task Stream_IsAListUnderThePrefix_OneElementPerEntry()
    {
        await using var host = await RedisConditionalWriteHost.StartAsync(redis.Server.ConnectionString());
        var id = NewId();

        await host.Streams.AppendIfLastAsync(id, 0, Encoding.UTF8.GetBytes("first"), default);
        await host.Streams.AppendIfLastAsync(id, 1, Encoding.UTF8.GetBytes("second"), default);

        Assert.Equal(["first", "second"], (await Redis.ListRangeAsync($"conditional:stream:{id}")).Select(v => (string?)v));
    }

    [Fact]
    public async Task KeyPrefix_KeepsStoresWithDifferentPrefixesApart()
    {
        await using var a = await RedisConditionalWriteHost.StartAsync(redis.Server.ConnectionString(), o => o.KeyPrefix = "tenant-a:");
        await using var b = await RedisConditionalWriteHost.StartAsync(redis.Server.ConnectionString(), o => o.KeyPrefix = "tenant-b:");
        var id = NewId();

        await a.Records.CreateAsync(id, new byte[] { 1 }, default);
        await a.Streams.AppendIfLastAsync(id, 0, new byte[] { 1 }, default);

        Assert.Null(await b.Records.GetAsync(id, default));
        Assert.Equal(0, await b.Streams.GetLastSequenceAsync(id, default));
        Assert.True(await Redis.KeyExistsAsync($"tenant-a:record:{id}"));
    }

    [Fact]
    public async Task Record_WithAnUnknownFormat_IsRefused_NotOverwritten()
    {
        await using var host = await RedisConditionalWriteHost.StartAsync(redis.Server.ConnectionString());
        var id = NewId();
        await Redis.HashSetAsync($"conditional:record:{id}", [new("fmt", "2"), new("version", "7"), new("value", "future")]);

        await Assert.ThrowsAsync<IdempotencyStoreException>(async () => await host.Records.UpdateIfVersionAsync(id, 7, new byte[] { 1 }, default));
        await Assert.ThrowsAsync<IdempotencyStoreException>(async () => await host.Records.CreateAsync(id, new byte[] { 1 }, default));
        await Assert.ThrowsAsync<IdempotencyStoreException>(async () => await host.Records.GetAsync(id, default));
        Assert.Equal("future", (string?)await Redis.HashGetAsync($"conditional:record:{id}", "value"));
    }

    [Fact]
    public async Task KeysHoldingSomethingElse_AreRefused_NotOverwritten()
    {
        await using var host = await RedisConditionalWriteHost.StartAsync(redis.Server.ConnectionString());
        var id = NewId();
        await Redis.StringSetAsync($"conditional:record:{id}", "not a hash");
        await Redis.HashSetAsync($"conditional:record:{id}-hash", "other", "field");
        await Redis.StringSetAsync($"conditional:stream:{id}", "not a list");

        await Assert.ThrowsAsync<IdempotencyStoreException>(async () => await host.Records.UpdateIfVersionAsync(id, 1, new byte[] { 1 }, default));
        await Assert.ThrowsAsync<IdempotencyStoreException>(async () => await host.Records.CreateAsync(id + "-hash", new byte[] { 1 }, default));
        await Assert.ThrowsAsync<IdempotencyStoreException>(async () => await host.Streams.AppendIfLastAsync(id, 0, new byte[] { 1 }, default));
        await Assert.ThrowsAsync<IdempotencyStoreException>(async () => await host.Streams.GetLastSequenceAsync(id, default));
        Assert.Equal("not a list", (string?)await Redis.StringGetAsync($"conditional:stream:{id}"));
    }

    [Fact]
    public async Task CancelledCall_ThrowsAndWritesNothing()
    {
        await using var host = await RedisConditionalWriteHost.StartAsync(redis.Server.ConnectionString());
        var id = NewId();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await host.Streams.AppendIfLastAsync(id, 0, new byte[] { 1 }, cancelled.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await host.Records.CreateAsync(id, new byte[] { 1 }, cancelled.Token));

        Assert.False(await Redis.KeyExistsAsync($"conditional:stream:{id}"));
        Assert.False(await Redis.KeyExistsAsync($"conditional:record:{id}"));
    }

    [Fact]
    public async Task AddRedisConditionalWrites_ReplacesTheInMemoryStores_AndCallsTheFactoryOnce()
    {
        await using var multiplexer = await ConnectionMultiplexer.ConnectAsync(redis.Server.ConnectionString());
        var calls = 0;
        var services = new ServiceCollection().AddInMemoryConditionalWrites().AddRedisConditionalWrites(options => options.ConnectionMultiplexerFactory = _ =>
        {
            Interlocked.Increment(ref calls);
            return multiplexer;
        });
        await using var provider = services.BuildServiceProvider();

        var records = provider.GetRequiredService<IVersionedRecordStore>();
        var streams = provider.GetRequiredService<IAppendOnlyStreamStore>();

        Assert.IsType<RedisVersionedRecordStore>(records);
        Assert.IsType<RedisAppendOnlyStreamStore>(streams);
        Assert.Single(provider.GetServices<IVersionedRecordStore>());
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task DisposingTheProvider_LeavesTheApplicationsMultiplexerOpen()
    {
        await using var multiplexer = await ConnectionMultiplexer.ConnectAsync(redis.Server.ConnectionString());
        var provider = new ServiceCollection().AddSingleton<IConnectionMultiplexer>(multiplexer).AddRedisConditionalWrites().BuildServiceProvider();
        await provider.GetRequiredService<IVersionedRecordStore>().CreateAsync(NewId(), new byte[] { 1 }, default);

        await provider.DisposeAsync();

        Assert.True(multiplexer.IsConnected);
        Assert.True(await multiplexer.GetDatabase().PingAsync() >= TimeSpan.Zero);
    }

    [Fact]
    public void AddRedisConditionalWrites_ExplainsWhatToRegister_WhenThereIsNoMultiplexer()
    {
        using var provider = new ServiceCollection().AddRedisConditionalWrites().BuildServiceProvider();

        var error = Assert.Throws<InvalidOperationException>(provider.GetRequiredService<IAppendOnlyStreamStore>);

        Assert.Contains("IConnectionMultiplexer", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "must not be empty")]
    [InlineData("{tenant}:", "must not contain")]
    public async Task InvalidKeyPrefix_FailsAtStartUp(string prefix, string message)
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(
            () => RedisConditionalWriteHost.StartAsync(redis.Server.ConnectionString(), options => options.KeyPrefix = prefix));

        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_DefaultToTheConditionalPrefixAndTheRegisteredMultiplexer()
    {
        var options = new RedisConditionalWriteOptions();

        Assert.Equal("conditional:", options.KeyPrefix);
        Assert.Null(options.ConnectionMultiplexerFactory);
        Assert.Equal(RedisEvictionPolicyCheck.Warn, options.EvictionPolicyCheck);
    }

    [Fact]
    public async Task UndefinedEvictionPolicyCheck_FailsAtStartUp()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(
            () => RedisConditionalWriteHost.StartAsync(redis.Server.ConnectionString(), options => options.EvictionPolicyCheck = (RedisEvictionPolicyCheck)7));

        Assert.Contains("RedisConditionalWriteOptions.EvictionPolicyCheck must be Warn, Fail or Ignore.", error.Message, StringComparison.Ordinal);
    }

    private static string NewId() => Guid.NewGuid().ToString("N");
}
