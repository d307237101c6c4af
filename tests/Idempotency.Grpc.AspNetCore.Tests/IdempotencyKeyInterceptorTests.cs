using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Grpc.Net.Client.Configuration;
using Idempotency.Grpc.Client;
using Microsoft.AspNetCore.Builder;

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
    public async Task ItsKeys_AreAccepted_ByAServerThatParsesKeysStrictly()
    {
        await using var server = await GrpcTestServer.StartAsync(configureOptions: o => o.StrictKeyParsing = true);
        var client = new Ledger.LedgerClient(server.Channel.Intercept(new IdempotencyKeyInterceptor()));

        var reply = await client.DepositAsync(new DepositRequest { Account = "acc-strict", Amount = 1 });

        Assert.Equal(1, reply.Execution);
        Assert.Equal(1, server.State.Executions);
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

    [Fact]
    public async Task HedgedAttemptsOfOneCall_CarryTheSameKey_AndTheDepositRunsOnce()
    {
        var attempts = new System.Collections.Concurrent.ConcurrentQueue<string?>();
        var hedged = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await GrpcTestServer.StartAsync(map: app =>
        {
            // Every attempt that reaches the server, before the idempotency interceptor refuses the ones in flight.
            app.Use((context, next) =>
            {
                if (context.Request.Path.Value!.EndsWith("/Deposit", StringComparison.Ordinal))
                {
                    attempts.Enqueue(context.Request.Headers["idempotency-key"].ToString());
                    if (attempts.Count >= 2)
                    {
                        hedged.TrySetResult();
                    }
                }

                return next(context);
            });
            app.MapGrpcService<LedgerService>();
        });
        server.State.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var channel = HedgingChannel(server.Address);
        var client = new Ledger.LedgerClient(channel.Intercept(new IdempotencyKeyInterceptor()));

        // The first attempt is held at the gate, so the channel sends hedges; each meets the first still running.
        var call = client.DepositAsync(new DepositRequest { Account = "acc-h1", Amount = 4 });
        await hedged.Task.WaitAsync(TimeSpan.FromSeconds(30));
        server.State.Gate.SetResult();
        var reply = await call.ResponseAsync;

        var keys = attempts.ToList();
        Assert.True(keys.Count >= 2);
        Assert.False(string.IsNullOrEmpty(keys[0]));
        Assert.All(keys, key => Assert.Equal(keys[0], key));
        Assert.Equal(1, server.State.Executions);
        Assert.Equal(1, reply.Execution);

        // The call completed under that key: replaying it does not run the deposit again.
        var replay = await client.DepositAsync(new DepositRequest { Account = "acc-h1", Amount = 4 }, GrpcTestServer.Key(keys[0]!));
        Assert.Equal(reply, replay);
        Assert.Equal(1, server.State.Executions);
    }

    private static GrpcChannel HedgingChannel(string address) => GrpcChannel.ForAddress(address, new GrpcChannelOptions
    {
        ServiceConfig = new ServiceConfig
        {
            MethodConfigs =
            {
                new MethodConfig
                {
                    Names = { MethodName.Default },
                    HedgingPolicy = new HedgingPolicy
                    {
                        MaxAttempts = 3,
                        HedgingDelay = TimeSpan.FromMilliseconds(50),

                        // A hedge that meets the first attempt still running is refused with ABORTED: not fatal, the
                        // call goes on with the attempts still pending.
                        NonFatalStatusCodes = { StatusCode.Aborted },
                    },
                },
            },
        },
    });

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
