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

        /// <summary>No declaration on shared data: the guard suppresses every copy of a call that changes state.</summary>
        Undeclared,
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

    [Fact]
    public async Task ASuppressedCopy_GetsPermissionDenied_WithTheGuardsReason_AsAGrpcStatus()
    {
        // No declaration on shared data: the guard refuses the copy. Before, it answered 403 with a problem+json body,
        // which the gRPC client could only report as "Bad gRPC response. HTTP status code: 403".
        await using var canary = await StartCanaryAsync(new UnreachableStore(), CopyPolicy.Undeclared);

        using var call = canary.Client.DepositAsync(new DepositRequest { Account = "acc-refused", Amount = 1 }, CopyMetadata("op-4"));
        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync);

        Assert.True(error.StatusCode == StatusCode.PermissionDenied, error.Status.ToString());
        Assert.Equal(
            "This instance is a canary that receives mirrored copies of live traffic and works on the primary's (shared) data. "
            + "This copy was not run, so nothing was applied: The method is neither safe nor idempotent and the endpoint does not "
            + "deduplicate it: a copy would apply its effect again.",
            error.Status.Detail);
        Assert.Equal(0, canary.State.Executions);
    }

    [Fact]
    public async Task ACopyWithAWrongMarker_GetsPermissionDenied_NamingTheMarker_AsAGrpcStatus()
    {
        await using var canary = await StartCanaryAsync(new UnreachableStore(), CopyPolicy.MirrorSafeOnSharedData, secret: "the-proxys-secret");

        using var call = canary.Client.DepositAsync(new DepositRequest { Account = "acc-spoofed", Amount = 1 }, CopyMetadata("op-5", marker: "guessed"));
        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync);

        Assert.True(error.StatusCode == StatusCode.PermissionDenied, error.Status.ToString());
        Assert.Equal(
            "This instance is a canary. The request carries the 'X-Shadow-Request' header that marks mirrored copies, but not the value "
            + "this instance expects, so it was neither trusted as a copy nor run.",
            error.Status.Detail);
        Assert.Equal(0, canary.State.Executions);
    }

    [Theory]
    [InlineData("application/grpc-web", "application/grpc-web")]
    [InlineData("application/grpc-web-text", "application/grpc-web-text")]
    [InlineData("application/grpc+proto", "application/grpc")]
    public async Task ASuppressedCopy_OfAnyGrpcContentType_IsAnsweredTrailersOnly_InItsOwnProtocol(string requestType, string responseType)
    {
        await using var canary = await StartCanaryAsync(new UnreachableStore(), CopyPolicy.Undeclared);
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, canary.Address + "/idempotency.tests.Ledger/Deposit")
        {
            Version = System.Net.HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(new byte[5]),
        };
        request.Content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(requestType);
        request.Headers.Add(Marker, "1");

        using var response = await http.SendAsync(request);

        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(responseType, response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("7", Assert.Single(response.Headers.GetValues("grpc-status")));
        Assert.StartsWith("This instance is a canary", Uri.UnescapeDataString(Assert.Single(response.Headers.GetValues("grpc-message"))), StringComparison.Ordinal);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(0, canary.State.Executions);
    }

    private static Task<GrpcTestServer> StartCanaryAsync(IIdempotencyStore store, CopyPolicy policy, string? secret = null) =>
        GrpcTestServer.StartAsync(
            services =>
            {
                services.AddSingleton(store);
                services.AddMirroring(o =>
                {
                    o.Role = MirrorRole.Canary;
                    o.Data = policy == CopyPolicy.IdempotentByDesignOnIsolatedData ? MirrorDataMode.Isolated : MirrorDataMode.Shared;
                    o.ReportOnly = policy == CopyPolicy.ReportOnly;
                    o.Secret = secret;
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

    private static Metadata CopyMetadata(string key, string marker = "1") => new() { { "idempotency-key", key }, { Marker, marker } };

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
