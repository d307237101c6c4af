using System.Collections.Concurrent;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Idempotency.Grpc.AspNetCore.Tests;

/// <summary>
/// <c>IdempotencyOptions.MaxStoredBodySize</c> bounds what one call can make the store hold, as it does for HTTP: an
/// outcome whose record would be larger still completes its key (the call never runs twice), its caller gets the reply,
/// and retries are refused with <c>FAILED_PRECONDITION</c> (HTTP's 410 <c>response-too-large</c>).
/// </summary>
public sealed class StoredSizeTests
{
    private const string TooLargeDetail = "The call with this idempotency key has already been processed (status {0}), but its outcome was too large to store for replay. Do not resend it with a new key; read the resulting state instead.";

    [Fact]
    public async Task ReplyOverMaxStoredBodySize_CompletesTheKey_AndRetriesGetFailedPrecondition_WithoutRunningAgain()
    {
        var logs = new FakeLogCollector();
        var store = new PayloadRecordingStore();
        await using var server = await StartAsync(store, logs, maxStoredBodySize: 1024);
        var request = new DepositRequest { Account = new string('a', 4096), Amount = 7 };

        var original = await IdempotentCallTests.CallAsync(server, request, "big-1");
        var retry = await IdempotentCallTests.CallAsync(server, request, "big-1");
        var again = await IdempotentCallTests.CallAsync(server, request, "big-1");

        // The caller of the call that ran gets its whole reply; the record does not hold it.
        Assert.Null(original.Error);
        Assert.Equal(4096, original.Reply!.Account.Length);
        Assert.Equal(1, original.Reply.Execution);
        Assert.Equal(1, server.State.Executions);
        var completed = Assert.Single(store.Completed);
        Assert.True(completed < 1024, $"The record holds {completed} bytes, over MaxStoredBodySize (1024).");

        foreach (var refused in new[] { retry, again })
        {
            Assert.True(refused.Status.StatusCode == StatusCode.FailedPrecondition, refused.Status.ToString());
            Assert.Equal(string.Format(System.Globalization.CultureInfo.InvariantCulture, TooLargeDetail, "OK"), refused.Status.Detail);
            Assert.Equal("true", refused.Headers.GetValue("idempotent-replayed"));
            Assert.Null(refused.Trailers.Get("x-balance-version"));
        }

        var log = Assert.Single(logs.GetSnapshot(), r => r.Id.Id == 608);
        Assert.Equal("GrpcResponseTooLargeToStore", log.Id.Name);
        Assert.Equal(LogLevel.Information, log.Level);
        Assert.Equal("1024", log.GetStructuredStateValue("MaxStoredBodySize"));
        Assert.True(long.Parse(log.GetStructuredStateValue("BodyLength")!, System.Globalization.CultureInfo.InvariantCulture) > 4096);
        Assert.Equal("/idempotency.tests.Ledger/Deposit", log.GetStructuredStateValue("Method"));
        Assert.DoesNotContain("big-1", log.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FinalErrorWhoseMetadataIsOverMaxStoredBodySize_IsNotStored_AndRetriesGetFailedPrecondition_NamingItsStatus()
    {
        // The status detail, headers and trailers count: the record holds them as much as a reply message.
        var store = new PayloadRecordingStore();
        await using var server = await StartAsync(store, new FakeLogCollector(), maxStoredBodySize: 48);
        var request = new DepositRequest { Account = "err-1", Amount = 1, FailWith = (int)StatusCode.NotFound };

        var original = await IdempotentCallTests.CallAsync(server, request, "big-2");
        var retry = await IdempotentCallTests.CallAsync(server, request, "big-2");

        Assert.Equal(StatusCode.NotFound, original.Status.StatusCode);
        Assert.Equal("1", original.Trailers.GetValue("x-failure"));
        Assert.True(retry.Status.StatusCode == StatusCode.FailedPrecondition, retry.Status.ToString());
        Assert.Equal(string.Format(System.Globalization.CultureInfo.InvariantCulture, TooLargeDetail, "NOT_FOUND"), retry.Status.Detail);
        Assert.Null(retry.Trailers.Get("x-failure"));
        Assert.Equal(1, server.State.Executions);
    }

    [Fact]
    public async Task ReplyWithinMaxStoredBodySize_IsStoredAndReplayed()
    {
        var store = new PayloadRecordingStore();
        await using var server = await StartAsync(store, new FakeLogCollector(), maxStoredBodySize: 1024);
        var request = new DepositRequest { Account = new string('b', 512), Amount = 7 };

        var original = await IdempotentCallTests.CallAsync(server, request, "small-1");
        var replay = await IdempotentCallTests.CallAsync(server, request, "small-1");

        Assert.Null(replay.Error);
        Assert.Equal(original.Reply, replay.Reply);
        Assert.Equal("true", replay.Headers.GetValue("idempotent-replayed"));
        Assert.Equal("1", replay.Trailers.GetValue("x-balance-version"));
        Assert.Equal(1, server.State.Executions);
    }

    private static Task<GrpcTestServer> StartAsync(PayloadRecordingStore store, FakeLogCollector logs, int maxStoredBodySize) =>
        GrpcTestServer.StartAsync(
            services =>
            {
                services.AddSingleton<IIdempotencyStore>(store);
                services.AddLogging(logging => logging.AddProvider(new FakeLoggerProvider(logs)));
            },
            configureOptions: o => o.MaxStoredBodySize = maxStoredBodySize);

    /// <summary>An in-memory store that records the size of every payload it completes a key with.</summary>
    internal sealed class PayloadRecordingStore : IIdempotencyStore
    {
        private readonly ServiceProvider _services = new ServiceCollection().AddLogging().AddMetrics().AddIdempotency().Services.BuildServiceProvider();
        private readonly ConcurrentQueue<int> _completed = new();

        public int[] Completed => [.. _completed];

        private IIdempotencyStore Inner => _services.GetRequiredService<IIdempotencyStore>();

        public ValueTask<IdempotencyClaimResult> ClaimAsync(IdempotencyClaimRequest request, CancellationToken cancellationToken) =>
            Inner.ClaimAsync(request, cancellationToken);

        public ValueTask<CompletionStatus> CompleteAsync(IdempotencyCompleteRequest request, CancellationToken cancellationToken)
        {
            _completed.Enqueue(request.Payload.Length);
            return Inner.CompleteAsync(request, cancellationToken);
        }

        public ValueTask<bool> ReleaseAsync(string key, string ownerToken, CancellationToken cancellationToken) =>
            Inner.ReleaseAsync(key, ownerToken, cancellationToken);
    }
}
