using Idempotency.Redis.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using static Idempotency.Redis.Tests.Infrastructure.TestPayloads;

namespace Idempotency.Redis.Tests;

/// <summary>Services sharing one Redis under different key prefixes never see each other's records.</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisStoreKeyPrefixTests(RedisServerFixture redis)
{
    [Fact]
    public async Task Stores_WithDifferentPrefixes_DoNotSeeEachOthersRecords()
    {
        await using var orders = await StartStoreAsync("orders:");
        await using var payments = await StartStoreAsync("payments:");
        var key = NewKey();
        var ordersOwner = NewOwner();

        var ordersClaim = await orders.Store.ClaimAsync(Claim(key, ordersOwner, fingerprint: "order"), default);
        var paymentsClaim = await payments.Store.ClaimAsync(Claim(key, NewOwner(), fingerprint: "payment"), default);
        await orders.Store.CompleteAsync(Complete(key, ordersOwner, [1]), default);
        var paymentsAgain = await payments.Store.ClaimAsync(Claim(key, NewOwner(), fingerprint: "payment"), default);
        var ordersReplay = await orders.Store.ClaimAsync(Claim(key, NewOwner(), fingerprint: "order"), default);

        Assert.Equal(ClaimStatus.Claimed, ordersClaim.Status);
        Assert.Equal(ClaimStatus.Claimed, paymentsClaim.Status); // not FingerprintMismatch: it never saw the orders record
        Assert.Equal(ClaimStatus.InFlight, paymentsAgain.Status); // its own claim, untouched by the orders completion
        Assert.Equal(ClaimStatus.Completed, ordersReplay.Status);
        Assert.Equal(new byte[] { 1 }, ordersReplay.Payload.ToArray());
    }

    [Fact]
    public async Task Store_WritesItsRecordUnderItsPrefix()
    {
        await using var admin = await RedisAdmin.ConnectAsync(redis.Server);
        await using var defaultPrefix = await RedisStoreHost.StartAsync(idempotency => idempotency.AddRedisStore(redis.Server.ConnectionString()));
        await using var customPrefix = await StartStoreAsync("svc-a:");
        var first = NewKey();
        var second = NewKey();

        await defaultPrefix.Store.ClaimAsync(Claim(first, NewOwner()), default);
        await customPrefix.Store.ClaimAsync(Claim(second, NewOwner()), default);

        Assert.True(await admin.Database.KeyExistsAsync("idempotency:" + first));
        Assert.True(await admin.Database.KeyExistsAsync("svc-a:" + second));
        Assert.False(await admin.Database.KeyExistsAsync(first));
        Assert.False(await admin.Database.KeyExistsAsync("idempotency:" + second));
    }

    private Task<RedisStoreHost> StartStoreAsync(string prefix) =>
        RedisStoreHost.StartAsync(idempotency => idempotency.AddRedisStore(redis.Server.ConnectionString(), options => options.KeyPrefix = prefix));
}
