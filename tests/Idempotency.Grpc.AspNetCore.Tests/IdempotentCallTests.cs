using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;

namespace Idempotency.Grpc.AspNetCore.Tests;

public sealed class IdempotentCallTests
{
    [Fact]
    public async Task ConcurrentDuplicates_ExecuteOnce_AndTheOthersAreAbortedWithRetryAfter()
    {
        await using var server = await GrpcTestServer.StartAsync();
        server.State.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var request = new DepositRequest { Account = "acc-1", Amount = 100 };

        var calls = Enumerable.Range(0, 32).Select(_ => CallAsync(server, request, "dup-1")).ToList();

        // While the first holds the key at the gate, every other duplicate can only be refused.
        var pending = calls.ToList();
        var refused = new List<RpcException>();
        while (refused.Count < 31)
        {
            var done = await Task.WhenAny(pending);
            pending.Remove(done);
            refused.Add(Assert.IsType<RpcException>(done.Result.Error));
        }

        server.State.Gate.SetResult();
        var executed = await Assert.Single(pending);

        Assert.Null(executed.Error);
        Assert.Equal(1, executed.Reply!.Execution);
        Assert.Equal(1, server.State.Executions);
        Assert.All(refused, error =>
        {
            Assert.Equal(StatusCode.Aborted, error.StatusCode);
            Assert.Equal("1", error.Trailers.GetValue("retry-after"));
            Assert.Equal("1000", error.Trailers.GetValue("grpc-retry-pushback-ms"));
        });

        var retry = await server.Client.DepositAsync(request, GrpcTestServer.Key("dup-1"));
        Assert.Equal(1, retry.Execution);
        Assert.Equal(1, server.State.Executions);
    }

    [Fact]
    public async Task Replay_ReturnsTheSameMessageHeadersTrailersAndStatus_MarkedAsReplayed()
    {
        await using var server = await GrpcTestServer.StartAsync();
        var request = new DepositRequest { Account = "acc-2", Amount = 250 };

        var original = await CallAsync(server, request, "replay-1");
        var replay = await CallAsync(server, request, "replay-1");

        Assert.Null(original.Error);
        Assert.Null(replay.Error);
        Assert.Equal(1, server.State.Executions);
        Assert.Equal(original.Reply, replay.Reply);
        Assert.Equal(StatusCode.OK, replay.Status.StatusCode);
        Assert.Equal(original.Status, replay.Status);
        Assert.Null(original.Headers.Get("idempotent-replayed"));
        Assert.Equal("true", replay.Headers.GetValue("idempotent-replayed"));
        Assert.Equal(Describe(original.Headers), Describe(replay.Headers, except: "idempotent-replayed"));
        Assert.Equal([1, 2, 1], replay.Headers.GetValueBytes("x-trace-bin"));
        Assert.Equal(Describe(original.Trailers), Describe(replay.Trailers));
        Assert.Equal("1", replay.Trailers.GetValue("x-balance-version"));
    }

    [Fact]
    public async Task FinalErrorStatus_IsStoredAndReplayed_WithItsDetailAndTrailers()
    {
        await using var server = await GrpcTestServer.StartAsync();
        var request = new DepositRequest { Account = "missing", Amount = 1, FailWith = (int)StatusCode.NotFound };

        var original = await CallAsync(server, request, "final-1");
        var replay = await CallAsync(server, request, "final-1");

        Assert.Equal(1, server.State.Executions);
        Assert.Equal(StatusCode.NotFound, original.Status.StatusCode);
        Assert.Equal(original.Status, replay.Status);
        Assert.Equal("deposit failed in execution 1", replay.Status.Detail);
        Assert.Equal("true", replay.Headers.GetValue("idempotent-replayed"));
        Assert.Equal(Describe(original.Headers), Describe(replay.Headers, except: "idempotent-replayed"));
        Assert.Equal(Describe(original.Trailers), Describe(replay.Trailers));
        Assert.Equal("1", replay.Trailers.GetValue("x-failure"));
    }

    [Theory]
    [InlineData(StatusCode.Unavailable)]
    [InlineData(StatusCode.Internal)]
    [InlineData(StatusCode.DeadlineExceeded)]
    [InlineData(StatusCode.ResourceExhausted)]
    [InlineData(StatusCode.Aborted)]
    [InlineData(StatusCode.Unknown)]
    public async Task TransientStatus_ReleasesTheKey_SoTheRetryRunsAgain(StatusCode transient)
    {
        await using var server = await GrpcTestServer.StartAsync();
        var failing = new DepositRequest { Account = "acc-3", Amount = 5, FailWith = (int)transient };

        var first = await CallAsync(server, failing, "transient-1");
        var second = await CallAsync(server, failing, "transient-1");

        Assert.Equal(transient, first.Status.StatusCode);
        Assert.Equal(transient, second.Status.StatusCode);
        Assert.Null(second.Headers.Get("idempotent-replayed"));
        Assert.Equal(2, server.State.Executions);
    }

    [Fact]
    public async Task UnexpectedException_ReleasesTheKey_AndTheClientGetsUnknown()
    {
        await using var server = await GrpcTestServer.StartAsync();
        var request = new DepositRequest { Account = "acc-4", Amount = 5, FailWith = -1 };

        var first = await CallAsync(server, request, "throws-1");
        var second = await CallAsync(server, request, "throws-1");

        Assert.Equal(StatusCode.Unknown, first.Status.StatusCode);
        Assert.Equal(StatusCode.Unknown, second.Status.StatusCode);
        Assert.Equal(2, server.State.Executions);
    }

    [Fact]
    public async Task KeyReusedWithAnotherMessage_IsRefusedWithFailedPrecondition_AndDoesNotRun()
    {
        await using var server = await GrpcTestServer.StartAsync();
        await server.Client.DepositAsync(new DepositRequest { Account = "acc-5", Amount = 10 }, GrpcTestServer.Key("reuse-1"));

        var reused = await CallAsync(server, new DepositRequest { Account = "acc-5", Amount = 11 }, "reuse-1");

        Assert.Equal(StatusCode.FailedPrecondition, reused.Status.StatusCode);
        Assert.Equal(1, server.State.Executions);
    }

    [Fact]
    public async Task InFlightDuplicate_IsAborted_WithRetryAfterMetadata()
    {
        await using var server = await GrpcTestServer.StartAsync();
        server.State.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var request = new DepositRequest { Account = "acc-6", Amount = 7 };
        var first = CallAsync(server, request, "inflight-1");
        await server.State.Entered.Task;

        var duplicate = await CallAsync(server, request, "inflight-1");
        server.State.Gate.SetResult();

        Assert.Equal(StatusCode.Aborted, duplicate.Status.StatusCode);
        Assert.Equal("1", duplicate.Trailers.GetValue("retry-after"));
        Assert.Equal("1000", duplicate.Trailers.GetValue("grpc-retry-pushback-ms"));
        Assert.Null((await first).Error);
        Assert.Equal(1, server.State.Executions);
    }

    [Fact]
    public async Task StoreDown_IsUnavailable_AndTheCallDoesNotRun()
    {
        await using var server = await GrpcTestServer.StartAsync(services => services.AddSingleton<IIdempotencyStore, UnreachableStore>());

        var call = await CallAsync(server, new DepositRequest { Account = "acc-7", Amount = 1 }, "down-1");

        Assert.True(call.Status.StatusCode == StatusCode.Unavailable, call.Status.ToString());
        Assert.Equal(0, server.State.Executions);
    }

    [Fact]
    public async Task MissingKey_IsRefusedWithInvalidArgument_AndDoesNotRun()
    {
        await using var server = await GrpcTestServer.StartAsync();

        var error = await Assert.ThrowsAsync<RpcException>(() => server.Client.DepositAsync(new DepositRequest { Account = "acc-8" }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("idempotency-key", error.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(0, server.State.Executions);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("a-key-that-is-far-too-long-a-key-that-is-far-too-long-a-key-that-is-far-too-long-a-key-that-is-far-too-long-a-key-that-is-far-too-long-a-key-that-is-far-too-long-a-key-that-is-far-too-long-a-key-that-is-far-too-long-a-key-that-is-far-too-long-a-key-that-is-far-too-long-xx")]
    public async Task InvalidKey_IsRefusedWithInvalidArgument_AndDoesNotRun(string key)
    {
        await using var server = await GrpcTestServer.StartAsync();

        var call = await CallAsync(server, new DepositRequest { Account = "acc-9" }, key);

        Assert.Equal(StatusCode.InvalidArgument, call.Status.StatusCode);
        Assert.Equal(0, server.State.Executions);
    }

    [Fact]
    public async Task RepeatedKey_IsRefusedWithInvalidArgument_AndDoesNotRun()
    {
        await using var server = await GrpcTestServer.StartAsync();
        var headers = new Metadata { { "idempotency-key", "one" }, { "idempotency-key", "two" } };

        var error = await Assert.ThrowsAsync<RpcException>(() => server.Client.DepositAsync(new DepositRequest { Account = "acc-10" }, headers).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal(0, server.State.Executions);
    }

    [Fact]
    public async Task MethodWithoutTheAttribute_RunsEveryCall_WithOrWithoutAKey()
    {
        await using var server = await GrpcTestServer.StartAsync();

        await server.Client.BalanceAsync(new DepositRequest { Account = "acc-11" }, GrpcTestServer.Key("plain-1"));
        await server.Client.BalanceAsync(new DepositRequest { Account = "acc-11" }, GrpcTestServer.Key("plain-1"));
        await server.Client.BalanceAsync(new DepositRequest { Account = "acc-11" });

        Assert.Equal(3, server.State.Executions);
    }

    [Fact]
    public async Task SameKeyAndMessage_OfDifferentAnonymousCalls_AfterCompletion_Replay_ButANewKeyRunsAgain()
    {
        await using var server = await GrpcTestServer.StartAsync();
        var request = new DepositRequest { Account = "acc-12", Amount = 3 };

        var first = await server.Client.DepositAsync(request, GrpcTestServer.Key("k-1"));
        var replay = await server.Client.DepositAsync(request, GrpcTestServer.Key("k-1"));
        var other = await server.Client.DepositAsync(request, GrpcTestServer.Key("k-2"));

        Assert.Equal(first, replay);
        Assert.Equal(2, other.Execution);
        Assert.Equal(2, server.State.Executions);
    }

    [Fact]
    public async Task AddIdempotencyCalledTwice_InterceptsOnce_SoACallRunsAndReplays()
    {
        await using var server = await GrpcTestServer.StartAsync(services => services.AddGrpc().AddIdempotency());
        var request = new DepositRequest { Account = "acc-13", Amount = 4 };

        var first = await server.Client.DepositAsync(request, GrpcTestServer.Key("twice-1"));
        var replay = await server.Client.DepositAsync(request, GrpcTestServer.Key("twice-1"));

        Assert.Equal(first, replay);
        Assert.Equal(1, server.State.Executions);
    }

    internal static async Task<CallResult> CallAsync(GrpcTestServer server, DepositRequest request, string key)
    {
        using var call = server.Client.DepositAsync(request, GrpcTestServer.Key(key));
        try
        {
            var reply = await call.ResponseAsync;
            return new CallResult(reply, null, await call.ResponseHeadersAsync, call.GetTrailers(), call.GetStatus());
        }
        catch (RpcException ex)
        {
            return new CallResult(null, ex, await call.ResponseHeadersAsync, call.GetTrailers(), call.GetStatus());
        }
    }

    // Every entry but the transport's date, in order, binary values in hex.
    private static List<string> Describe(Metadata metadata, string? except = null) =>
        metadata.Where(entry => entry.Key is not "date" && entry.Key != except)
            .Select(entry => entry.Key + "=" + (entry.IsBinary ? Convert.ToHexString(entry.ValueBytes) : entry.Value))
            .ToList();

    internal sealed record CallResult(DepositReply? Reply, RpcException? Error, Metadata Headers, Metadata Trailers, Status Status);
}
