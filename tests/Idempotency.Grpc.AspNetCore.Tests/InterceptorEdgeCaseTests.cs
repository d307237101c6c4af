using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Idempotency.Grpc.AspNetCore.Tests;

public sealed class InterceptorEdgeCaseTests
{
    [Fact]
    public async Task Replay_SendsTheHeadersTheClientReceived_NotASecondWriteThatWasRefused()
    {
        await using var server = await GrpcTestServer.StartAsync(map: app => app.MapGrpcService<EdgeCaseLedger>());
        var request = new DepositRequest { Account = "headers-twice" };

        var original = server.Client.DepositAsync(request, GrpcTestServer.Key("edge-headers-1"));
        var originalHeaders = await original.ResponseHeadersAsync;
        await original;
        var replay = server.Client.DepositAsync(request, GrpcTestServer.Key("edge-headers-1"));
        var replayHeaders = await replay.ResponseHeadersAsync;
        await replay;

        Assert.Equal(1, server.State.Executions);
        Assert.Equal("first", originalHeaders.GetValue("x-write"));
        Assert.Equal("true", replayHeaders.GetValue("idempotent-replayed"));
        Assert.Equal(originalHeaders.GetValue("x-write"), replayHeaders.GetValue("x-write"));
    }

    [Fact]
    public async Task Replay_UnderAnInterceptorThatSentTheHeadersFirst_ReturnsTheStoredReply()
    {
        // The application's interceptor, registered before AddIdempotency, runs outside it and sends the headers itself.
        await using var server = await GrpcTestServer.StartAsync(
            configureServices: services => services.AddGrpc(options =>
            {
                options.Interceptors.Add<HeaderSendingInterceptor>();
                var registration = options.Interceptors[^1];
                options.Interceptors.RemoveAt(options.Interceptors.Count - 1);
                options.Interceptors.Insert(0, registration);
            }),
            map: app => app.MapGrpcService<EdgeCaseLedger>());
        var request = new DepositRequest { Account = "acc-outer", Amount = 5 };

        var original = await server.Client.DepositAsync(request, GrpcTestServer.Key("edge-outer-1"));
        var replay = server.Client.DepositAsync(request, GrpcTestServer.Key("edge-outer-1"));
        var replayHeaders = await replay.ResponseHeadersAsync;
        var replayed = await replay;

        Assert.Equal(1, server.State.Executions);
        Assert.Equal(original, replayed);
        Assert.Equal("outer", replayHeaders.GetValue("x-outer"));
    }

    [Fact]
    public async Task Replay_UnderAnInterceptorThatSetsATrailerFirst_SendsThatTrailerOnce()
    {
        // The application's interceptor, outside this one, sets a trailer of its own on every call, replays included.
        await using var server = await GrpcTestServer.StartAsync(configureServices: services => services.AddGrpc(options =>
        {
            options.Interceptors.Add<TrailerSettingInterceptor>();
            var registration = options.Interceptors[^1];
            options.Interceptors.RemoveAt(options.Interceptors.Count - 1);
            options.Interceptors.Insert(0, registration);
        }));
        var request = new DepositRequest { Account = "acc-trailer", Amount = 5 };

        var original = server.Client.DepositAsync(request, GrpcTestServer.Key("edge-trailer-1"));
        await original;
        var replay = server.Client.DepositAsync(request, GrpcTestServer.Key("edge-trailer-1"));
        await replay;

        Assert.Equal(1, server.State.Executions);
        Assert.Single(original.GetTrailers(), entry => entry.Key == "x-outer");
        Assert.Single(replay.GetTrailers(), entry => entry.Key == "x-outer");
        Assert.Equal("1", replay.GetTrailers().GetValue("x-balance-version"));
    }

    [Fact]
    public async Task Replay_OfACallThatSentNoHeaders_LeavesThemToAnInterceptorThatSendsThemAfterTheCall()
    {
        // The application's interceptor, outside this one, sends headers once the call returns, as it can when the
        // handler sent none: a replay of that call must leave it able to.
        await using var server = await GrpcTestServer.StartAsync(
            configureServices: services => services.AddGrpc(options =>
            {
                options.Interceptors.Add<HeaderSendingAfterInterceptor>();
                var registration = options.Interceptors[^1];
                options.Interceptors.RemoveAt(options.Interceptors.Count - 1);
                options.Interceptors.Insert(0, registration);
            }),
            map: app => app.MapGrpcService<EdgeCaseLedger>());
        var request = new DepositRequest { Account = "acc-after", Amount = 5 };

        var original = await server.Client.DepositAsync(request, GrpcTestServer.Key("edge-after-1"));
        var replay = server.Client.DepositAsync(request, GrpcTestServer.Key("edge-after-1"));
        var replayHeaders = await replay.ResponseHeadersAsync;
        var replayed = await replay;

        Assert.Equal(1, server.State.Executions);
        Assert.Equal(original, replayed);
        Assert.Equal("after", replayHeaders.GetValue("x-after"));
        Assert.Equal("true", replayHeaders.GetValue("idempotent-replayed"));
    }

    [Fact]
    public async Task Replay_OfAFinalErrorThatSentNoHeaders_IsStillMarkedAsReplayed()
    {
        await using var server = await GrpcTestServer.StartAsync(map: app => app.MapGrpcService<EdgeCaseLedger>());
        var request = new DepositRequest { Account = "no-headers", FailWith = (int)StatusCode.NotFound };

        var original = server.Client.DepositAsync(request, GrpcTestServer.Key("edge-error-1"));
        var originalError = await Assert.ThrowsAsync<RpcException>(() => original.ResponseAsync);
        var replay = server.Client.DepositAsync(request, GrpcTestServer.Key("edge-error-1"));
        var replayError = await Assert.ThrowsAsync<RpcException>(() => replay.ResponseAsync);

        Assert.Equal(1, server.State.Executions);
        Assert.Equal(originalError.Status, replayError.Status);
        Assert.Null((await original.ResponseHeadersAsync).Get("idempotent-replayed"));
        Assert.Equal("true", (await replay.ResponseHeadersAsync).GetValue("idempotent-replayed"));
    }
}

/// <summary>A deposit whose behaviour the request's account chooses, for the edge cases above.</summary>
internal sealed class EdgeCaseLedger(LedgerState state) : Ledger.LedgerBase
{
    [RequireIdempotentCall]
    public override async Task<DepositReply> Deposit(DepositRequest request, ServerCallContext context)
    {
        var execution = state.Run();
        if (request.Account == "headers-twice")
        {
            // Headers go out once per call: Grpc.AspNetCore refuses the second write, and the handler carries on.
            await context.WriteResponseHeadersAsync(new Metadata { { "x-write", "first" } });
            try
            {
                await context.WriteResponseHeadersAsync(new Metadata { { "x-write", "second" } });
            }
            catch (InvalidOperationException)
            {
            }
        }

        if (request.FailWith != 0)
        {
            throw new RpcException(new Status((StatusCode)request.FailWith, $"deposit failed in execution {execution}"));
        }

        return new DepositReply { Account = request.Account, Execution = execution };
    }
}

/// <summary>An application interceptor that sends the response headers before the call goes on.</summary>
internal sealed class HeaderSendingInterceptor : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        await context.WriteResponseHeadersAsync(new Metadata { { "x-outer", "outer" } });
        return await continuation(request, context);
    }
}

/// <summary>An application interceptor that sets a trailer before the call goes on.</summary>
internal sealed class TrailerSettingInterceptor : Interceptor
{
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        context.ResponseTrailers.Add("x-outer", "outer");
        return continuation(request, context);
    }
}

/// <summary>An application interceptor that sends the response headers once the call has returned.</summary>
internal sealed class HeaderSendingAfterInterceptor : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        var response = await continuation(request, context);
        await context.WriteResponseHeadersAsync(new Metadata { { "x-after", "after" } });
        return response;
    }
}
