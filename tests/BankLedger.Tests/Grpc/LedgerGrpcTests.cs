using System.Net;
using System.Net.Http.Json;
using BankLedger.Grpc;
using BankLedger.Ledger;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;

namespace BankLedger.Tests.Grpc;

/// <summary>The sample's gRPC API (Grpc/ledger.proto), over real Kestrel with a real Grpc.Net.Client.</summary>
public sealed class LedgerGrpcTests
{
    [Fact]
    public async Task ConcurrentDuplicateDeposits_ExecuteOnce_AndEveryCallGetsTheSameReply()
    {
        await using var host = GrpcSampleHost.Start();
        var account = await host.OpenAccountAsync();
        var client = host.RetryingClient(out var channel);
        using var _ = channel;
        var key = GrpcSampleHost.NewKey();

        var replies = await Task.WhenAll(Enumerable.Range(0, 32).Select(_ =>
            client.DepositAsync(new DepositRequest { AccountId = account, Amount = 2_500 }, GrpcSampleHost.Call(key)).ResponseAsync));

        Assert.All(replies, reply => Assert.Equal(replies[0], reply));
        Assert.Equal(new PostingReply { AccountId = account, Entry = 1, Amount = 2_500, Balance = 2_500 }, replies[0]);
        Assert.Equal((2_500, 1), await host.AccountAsync(account));
    }

    [Fact]
    public async Task JsonOverHttp11_AndGrpcOverHttp2_ShareOnePort()
    {
        await using var host = GrpcSampleHost.Start();
        var account = await host.OpenAccountAsync();

        using var get = await host.Http.GetAsync(new Uri($"/accounts/{account}", UriKind.Relative));
        var reply = await host.Client.DepositAsync(new DepositRequest { AccountId = account, Amount = 1 }, GrpcSampleHost.Call(GrpcSampleHost.NewKey()));

        Assert.Equal(HttpVersion.Version11, get.Version);
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal(1, reply.Balance);
    }

    [Fact]
    public async Task Replay_ReturnsTheSameReply_MarkedAsReplayed_AndRunsNothing()
    {
        await using var host = GrpcSampleHost.Start();
        var account = await host.OpenAccountAsync();
        var key = GrpcSampleHost.NewKey();

        using var first = host.Client.DepositAsync(new DepositRequest { AccountId = account, Amount = 700 }, GrpcSampleHost.Call(key));
        var original = await first.ResponseAsync;
        using var retry = host.Client.DepositAsync(new DepositRequest { AccountId = account, Amount = 700 }, GrpcSampleHost.Call(key));
        var replayed = await retry.ResponseAsync;

        Assert.Equal(original, replayed);
        Assert.Null((await first.ResponseHeadersAsync).GetValue("idempotent-replayed"));
        Assert.Equal("true", (await retry.ResponseHeadersAsync).GetValue("idempotent-replayed"));
        Assert.Equal(StatusCode.OK, retry.GetStatus().StatusCode);
        Assert.Equal((700, 1), await host.AccountAsync(account));
    }

    [Fact]
    public async Task RefusedTransfer_IsAFinalStatus_ReplayedEvenAfterTheFundsArrive()
    {
        await using var host = GrpcSampleHost.Start();
        var from = await host.OpenAccountAsync();
        var to = await host.OpenAccountAsync();
        var key = GrpcSampleHost.NewKey();
        var transfer = new TransferRequest { FromAccountId = from, ToAccountId = to, Amount = 300 };

        var refused = await Assert.ThrowsAsync<RpcException>(() => host.Client.TransferAsync(transfer, GrpcSampleHost.Call(key)).ResponseAsync);
        await host.Client.DepositAsync(new DepositRequest { AccountId = from, Amount = 1_000 }, GrpcSampleHost.Call(GrpcSampleHost.NewKey()));
        var replayed = await Assert.ThrowsAsync<RpcException>(() => host.Client.TransferAsync(transfer, GrpcSampleHost.Call(key)).ResponseAsync);
        var other = await host.Client.TransferAsync(transfer, GrpcSampleHost.Call(GrpcSampleHost.NewKey()));

        Assert.Equal(StatusCode.FailedPrecondition, refused.StatusCode);
        Assert.Equal(refused.Status, replayed.Status);
        Assert.Equal(300, other.Amount);
        Assert.Equal((700, 2), await host.AccountAsync(from));
        Assert.Equal((300, 1), await host.AccountAsync(to));
    }

    [Fact]
    public async Task KeyReusedWithAnotherMessage_IsRefusedWithFailedPrecondition_AndRunsNothing()
    {
        await using var host = GrpcSampleHost.Start();
        var account = await host.OpenAccountAsync();
        var key = GrpcSampleHost.NewKey();
        await host.Client.DepositAsync(new DepositRequest { AccountId = account, Amount = 100 }, GrpcSampleHost.Call(key));

        var error = await Assert.ThrowsAsync<RpcException>(() =>
            host.Client.DepositAsync(new DepositRequest { AccountId = account, Amount = 999 }, GrpcSampleHost.Call(key)).ResponseAsync);

        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Equal((100, 1), await host.AccountAsync(account));
    }

    [Fact]
    public async Task DuplicateWhileTheFirstCallRuns_IsAbortedWithPushback_AndTheFirstStillAppliesOnce()
    {
        var gate = new GatedLedger(new InMemoryLedger());
        await using var host = GrpcSampleHost.Start(services => services.AddSingleton<ILedger>(gate));
        var account = await host.OpenAccountAsync();
        var key = GrpcSampleHost.NewKey();
        gate.Close();

        using var first = host.Client.DepositAsync(new DepositRequest { AccountId = account, Amount = 50 }, GrpcSampleHost.Call(key));
        await gate.Entered.Task;
        var duplicate = await Assert.ThrowsAsync<RpcException>(() =>
            host.Client.DepositAsync(new DepositRequest { AccountId = account, Amount = 50 }, GrpcSampleHost.Call(key)).ResponseAsync);
        gate.Open();
        var reply = await first.ResponseAsync;

        Assert.Equal(StatusCode.Aborted, duplicate.StatusCode);
        Assert.NotNull(duplicate.Trailers.GetValue("grpc-retry-pushback-ms"));
        Assert.NotNull(duplicate.Trailers.GetValue("retry-after"));
        Assert.Equal(50, reply.Balance);
        Assert.Equal((50, 1), await host.AccountAsync(account));
    }

    [Fact]
    public async Task CallWithoutAKey_IsInvalidArgument_AndRunsNothing()
    {
        await using var host = GrpcSampleHost.Start();
        var account = await host.OpenAccountAsync();

        var error = await Assert.ThrowsAsync<RpcException>(() =>
            host.Client.DepositAsync(new DepositRequest { AccountId = account, Amount = 100 }, GrpcSampleHost.Call(key: null)).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal((0, 0), await host.AccountAsync(account));
    }

    [Fact]
    public async Task CallWithoutAValidToken_IsUnauthenticated_AndRunsNothing()
    {
        await using var host = GrpcSampleHost.Start();
        var account = await host.OpenAccountAsync();

        var error = await Assert.ThrowsAsync<RpcException>(() =>
            host.Client.DepositAsync(new DepositRequest { AccountId = account, Amount = 100 }, GrpcSampleHost.Call(GrpcSampleHost.NewKey(), token: "forged-token")).ResponseAsync);

        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        Assert.Equal((0, 0), await host.AccountAsync(account));
    }

    [Fact]
    public async Task StoreDown_IsUnavailable_AndRunsNothing()
    {
        var store = new SwitchableStore();
        await using var host = GrpcSampleHost.Start(store.Decorate);
        var account = await host.OpenAccountAsync();
        store.Down = true;

        var error = await Assert.ThrowsAsync<RpcException>(() =>
            host.Client.DepositAsync(new DepositRequest { AccountId = account, Amount = 100 }, GrpcSampleHost.Call(GrpcSampleHost.NewKey())).ResponseAsync);
        store.Down = false;

        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.Equal((0, 0), await host.AccountAsync(account));
    }

    [Fact]
    public async Task SameKeyOverTheOtherProtocol_IsRefusedAsAMismatch_InBothDirections()
    {
        await using var host = GrpcSampleHost.Start();
        var account = await host.OpenAccountAsync();
        var httpKey = GrpcSampleHost.NewKey();
        var grpcKey = GrpcSampleHost.NewKey();

        using var overHttp = await DepositOverHttpAsync(host, account, 40, httpKey);
        var grpcRetry = await Assert.ThrowsAsync<RpcException>(() =>
            host.Client.DepositAsync(new DepositRequest { AccountId = account, Amount = 40 }, GrpcSampleHost.Call(httpKey)).ResponseAsync);
        await host.Client.DepositAsync(new DepositRequest { AccountId = account, Amount = 60 }, GrpcSampleHost.Call(grpcKey));
        using var httpRetry = await DepositOverHttpAsync(host, account, 60, grpcKey);

        Assert.Equal(HttpStatusCode.Created, overHttp.StatusCode);
        Assert.Equal(StatusCode.FailedPrecondition, grpcRetry.StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, httpRetry.StatusCode);
        Assert.Equal((100, 2), await host.AccountAsync(account));
    }

    private static async Task<HttpResponseMessage> DepositOverHttpAsync(GrpcSampleHost host, long account, long amount, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/accounts/{account}/deposits") { Content = JsonContent.Create(new { amount }) };
        request.Headers.Add("Idempotency-Key", key);
        return await host.Http.SendAsync(request);
    }
}
