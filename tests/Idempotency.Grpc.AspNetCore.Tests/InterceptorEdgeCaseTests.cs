using Grpc.Core;
using Microsoft.AspNetCore.Builder;

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

        return new DepositReply { Account = request.Account, Execution = execution };
    }
}
