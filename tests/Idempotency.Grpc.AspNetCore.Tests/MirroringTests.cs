using System.Collections.Concurrent;
using Grpc.Core;
using Idempotency.AspNetCore.Mirroring;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Idempotency.Grpc.AspNetCore.Tests;

/// <summary>
/// A canary that receives mirrored copies of live gRPC calls (marked by the mirror guard with
/// <see cref="IMirroredRequestFeature"/>) must keep a copy's idempotency record apart from the original's, as the
/// HTTP middleware does, even when it shares the primary's idempotency store.
/// </summary>
public sealed class MirroringTests
{
    private const string Marker = "x-shadow-request";

    public enum CopyPolicy
    {
        /// <summary>Shared data, the service declared <c>.MirrorSafe()</c>.</summary>
        MirrorSafeOnSharedData,

        /// <summary>Isolated data, the service declared <c>.IdempotentByDesign()</c>.</summary>
        IdempotentByDesignOnIsolatedData,

        /// <summary>No declaration, but the guard only reports: every copy runs.</summary>
        ReportOnly,
    }

    [Theory]
    [InlineData(CopyPolicy.MirrorSafeOnSharedData, false)]
    [InlineData(CopyPolicy.MirrorSafeOnSharedData, true)]
    [InlineData(CopyPolicy.IdempotentByDesignOnIsolatedData, false)]
    [InlineData(CopyPolicy.ReportOnly, false)]
    public async Task ACopyThatReachesTheCanaryFirst_NeverAnswersTheOriginal_WhenBothShareOneStore(CopyPolicy policy, bool copyStillRunning)
    {
        await using var primary = await GrpcTestServer.StartAsync(
            services => services.AddMirroring(_ => { }),
            app =>
            {
                app.UseMirrorGuard();
                app.MapGrpcService<LedgerService>();
            });
        var store = primary.Services.GetRequiredService<IIdempotencyStore>();
        await using var canary = await StartCanaryAsync(store, policy);
        var request = new DepositRequest { Account = "acc-mirror", Amount = 100 };

        // The proxy's copy reaches the canary first and runs there with the client's key.
        if (copyStillRunning)
        {
            canary.State.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        using var copyCall = canary.Client.DepositAsync(request, CopyMetadata("op-1"));
        try
        {
            if (copyStillRunning)
            {
                await canary.State.Entered.Task.WaitAsync(TimeSpan.FromSeconds(10));
            }
            else
            {
                await copyCall.ResponseAsync;
            }

            // The real client's call reaches the primary with the same key: it must run its own handler.
            using var originalCall = primary.Client.DepositAsync(request, GrpcTestServer.Key("op-1"));
            var original = await Record.ExceptionAsync(() => originalCall.ResponseAsync);
            Assert.Null(original);
            var headers = await originalCall.ResponseHeadersAsync;

            Assert.Null(headers.Get("idempotent-replayed"));
            Assert.Equal(1, primary.State.Executions);
            Assert.Equal(1, (await originalCall.ResponseAsync).Execution);
            Assert.Equal("1", originalCall.GetTrailers().GetValue("x-balance-version"));
        }
        finally
        {
            // Never leave the copy at the gate, even when an assertion failed: the canary could not stop.
            canary.State.Gate.TrySetResult();
        }

        var copy = await copyCall.ResponseAsync;
        Assert.Equal(1, copy.Execution);
        Assert.Equal(1, canary.State.Executions);

        // A retry of the original is replayed the original's outcome, and another copy the copy's: each keeps to its own.
        var retry = await primary.Client.DepositAsync(request, GrpcTestServer.Key("op-1"));
        var copyRetry = await canary.Client.DepositAsync(request, CopyMetadata("op-1"));
        Assert.Equal(1, retry.Execution);
        Assert.Equal(1, copyRetry.Execution);
        Assert.Equal(1, primary.State.Executions);
        Assert.Equal(1, canary.State.Executions);
    }

    [Fact]
    public async Task OnACanary_ACopysRecordIsStoredUnderTheMirrorCopyPrefix_AndARealCallsUnderItsOwnKey()
    {
        await using var storeServices = new ServiceCollection().AddLogging().AddMetrics().AddIdempotency().Services.BuildServiceProvider();
        var store = new RecordingStore(storeServices.GetRequiredService<IIdempotencyStore>());
        await using var canary = await StartCanaryAsync(store, CopyPolicy.MirrorSafeOnSharedData);
        var request = new DepositRequest { Account = "acc-prefix", Amount = 5 };

        await canary.Client.DepositAsync(request, CopyMetadata("op-2"));
        await canary.Client.DepositAsync(request, GrpcTestServer.Key("op-3"));

        // The same prefix as the HTTP middleware's (MirroredCopyKeys.Prefix): real keys start with the scope's length.
        Assert.Equal(["mirror-copy:" + IdempotencyStorageKey.Create("", "op-2"), IdempotencyStorageKey.Create("", "op-3")], store.Claimed);
        Assert.Equal(2, canary.State.Executions);
    }

    private static Task<GrpcTestServer> StartCanaryAsync(IIdempotencyStore store, CopyPolicy policy) =>
        GrpcTestServer.StartAsync(
            services =>
            {
                services.AddSingleton(store);
                services.AddMirroring(o =>
                {
                    o.Role = MirrorRole.Canary;
                    o.Data = policy == CopyPolicy.IdempotentByDesignOnIsolatedData ? MirrorDataMode.Isolated : MirrorDataMode.Shared;
                    o.ReportOnly = policy == CopyPolicy.ReportOnly;
                });
            },
            app =>
            {
                app.UseMirrorGuard();
                var service = app.MapGrpcService<LedgerService>();
                _ = policy switch
                {
                    CopyPolicy.MirrorSafeOnSharedData => service.MirrorSafe(),
                    CopyPolicy.IdempotentByDesignOnIsolatedData => service.IdempotentByDesign(),
                    _ => service,
                };
            });

    private static Metadata CopyMetadata(string key) => new() { { "idempotency-key", key }, { Marker, "1" } };

    /// <summary>Records the storage key of every claim it passes on.</summary>
    private sealed class RecordingStore(IIdempotencyStore inner) : IIdempotencyStore
    {
        private readonly ConcurrentQueue<string> _claimed = new();

        public string[] Claimed => [.. _claimed];

        public ValueTask<IdempotencyClaimResult> ClaimAsync(IdempotencyClaimRequest request, CancellationToken cancellationToken)
        {
            _claimed.Enqueue(request.Key);
            return inner.ClaimAsync(request, cancellationToken);
        }

        public ValueTask<CompletionStatus> CompleteAsync(IdempotencyCompleteRequest request, CancellationToken cancellationToken) =>
            inner.CompleteAsync(request, cancellationToken);

        public ValueTask<bool> ReleaseAsync(string key, string ownerToken, CancellationToken cancellationToken) =>
            inner.ReleaseAsync(key, ownerToken, cancellationToken);
    }
}
