using System.Globalization;
using Idempotency.Redis.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using Xunit.Abstractions;
using static Idempotency.Redis.Tests.Infrastructure.TestPayloads;

namespace Idempotency.Redis.Tests;

/// <summary>
/// Bytes per record as Redis itself counts them (<c>MEMORY USAGE key SAMPLES 0</c>: key, value and allocator overhead),
/// for the figures in docs/stores/redis.md, with budgets that catch a format change that bloats every record.
/// </summary>
[Collection(RedisCollection.Name)]
public sealed class RedisStoreSizingTests(RedisServerFixture redis, ITestOutputHelper output)
{
    // Measured on redis-server 7.0 (jemalloc): in flight 248 B; completed 200 B (empty payload, listpack encoding),
    // 1,472 B (1,000 B payload) and 20,928 B (16 KiB payload: hashtable encoding, and jemalloc rounds the value up
    // to its 20 KiB size class). The budgets leave room for other Redis versions, not for a bigger format.
    [Theory]
    [InlineData(0, 300)]
    [InlineData(1000, 1800)]
    [InlineData(16 * 1024, 21_500)]
    public async Task Record_UsesItsPayloadPlusABoundedOverhead(int payloadBytes, int atMost)
    {
        await using var admin = await RedisAdmin.ConnectAsync(redis.Server);
        await using var host = await RedisStoreHost.StartAsync(idempotency => idempotency.AddRedisStore(redis.Server.ConnectionString()));
        var key = TypicalKey();
        var owner = NewOwner();
        await host.Store.ClaimAsync(Claim(key, owner), default);
        var inFlight = await MemoryUsageAsync(admin, key);

        await host.Store.CompleteAsync(Complete(key, owner, new byte[payloadBytes]), default);
        var completed = await MemoryUsageAsync(admin, key);

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"key {key.Length + "idempotency:".Length} chars: in flight {inFlight} B, completed with {payloadBytes} B payload {completed} B"));
        Assert.InRange(inFlight, key.Length, 300);
        Assert.InRange(completed, payloadBytes + key.Length, atMost);
    }

    // The shape of a real key: the default prefix, a user id as scope, a UUID as the client's key.
    private static string TypicalKey() => IdempotencyStorageKey.Create("user-8c1d2f6a", Guid.NewGuid().ToString());

    private static async Task<long> MemoryUsageAsync(RedisAdmin admin, string key) =>
        (long)await admin.Database.ExecuteAsync("MEMORY", "USAGE", (RedisKey)("idempotency:" + key), "SAMPLES", "0");
}
