using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Grpc.Net.Client.Configuration;
using Idempotency.Grpc.Client;

namespace Idempotency.Grpc.AspNetCore.Tests;

public sealed class IdempotencyKeyInterceptorTests
{
    [Fact]
    public async Task RetriesOfOneCall_CarryTheSameKey_ThroughTheClientsRetryPolicy()
    {
        await using var server = await GrpcTestServer.StartAsync();
        server.State.FailuresLeft = 2;
        using var channel = RetryingChannel(server.Address);
        var client = new Ledger.LedgerClient(channel.Intercept(new IdempotencyKeyInterceptor()));

        var reply = await client.DepositAsync(new DepositRequest { Account = "acc-c1", Amount = 9 });

        Assert.Equal(3, reply.Execution);
        var keys = server.State.KeysSeen.ToList();
        Assert.Equal(3, keys.Count);
        Assert.False(string.IsNullOrEmpty(keys[0]));
        Assert.All(keys, key => Assert.Equal(keys[0], key));

        // The call completed under that key: replaying it does not run the deposit again.
        var replay = await client.DepositAsync(new DepositRequest { Account = "acc-c1", Amount = 9 }, GrpcTestServer.Key(keys[0]!));
        Assert.Equal(reply, replay);
        Assert.Equal(3, server.State.Executions);
    }

    [Fact]
    public async Task EachCall_GetsItsOwnKey_AndAKeyTheCallerSetIsKept()
    {
        await using var server = await GrpcTestServer.StartAsync();
        var client = new Ledger.LedgerClient(server.Channel.Intercept(new IdempotencyKeyInterceptor()));
        var shared = new Metadata { { "x-tenant", "t1" } };

        await client.DepositAsync(new DepositRequest { Account = "acc-c2", Amount = 1 }, shared);
        await client.DepositAsync(new DepositRequest { Account = "acc-c2", Amount = 1 }, shared);
        await client.DepositAsync(new DepositRequest { Account = "acc-c2", Amount = 1 }, GrpcTestServer.Key("mine"));

        var keys = server.State.KeysSeen.ToList();
        Assert.Equal(3, server.State.Executions);
        Assert.NotEqual(keys[0], keys[1]);
        Assert.Equal("mine", keys[2]);
        Assert.Null(shared.Get("idempotency-key"));
    }

    private static GrpcChannel RetryingChannel(string address) => GrpcChannel.ForAddress(address, new GrpcChannelOptions
    {
        ServiceConfig = new ServiceConfig
        {
            MethodConfigs =
            {
                new MethodConfig
                {
                    Names = { MethodName.Default },
                    RetryPolicy = new RetryPolicy
                    {
                        MaxAttempts = 5,
                        InitialBackoff = TimeSpan.FromMilliseconds(10),
                        MaxBackoff = TimeSpan.FromMilliseconds(50),
                        BackoffMultiplier = 1.5,
                        RetryableStatusCodes = { StatusCode.Unavailable },
                    },
                },
            },
        },
    });
}
