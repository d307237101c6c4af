using Grpc.Core;
using Idempotency.AspNetCore.Deduplication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Idempotency.Grpc.AspNetCore.Tests;

/// <summary>
/// A method whose endpoint carries an <see cref="IIdempotencyRequestStoreProvider"/> (what <c>.WithPostgreSqlTransaction()</c>
/// adds) runs with the store the provider creates for the call; the PostgreSQL end to end is in the sample's tests
/// (BankLedger.Tests, <c>LedgerGrpcPostgreSqlTests</c>).
/// </summary>
public sealed class UnitOfWorkStoreTests
{
    [Fact]
    public async Task StoreFromTheEndpointMetadata_ServesTheCall_AndIsDisposedWhenItEnds()
    {
        var provider = new UnitOfWorkProvider();
        await using var server = await StartAsync(provider);

        var call = await IdempotentCallTests.CallAsync(server, new DepositRequest { Account = "uow-1", Amount = 3 }, "uow-1");

        Assert.Null(call.Error);
        var store = Assert.Single(provider.Created);
        Assert.Equal((1, 1, 0), (store.Claims, store.Completions, store.Releases));
        Assert.True(store.Disposed);
        Assert.Equal(1, server.State.Executions);
    }

    [Fact]
    public async Task StoreWhoseCommitFails_AnswersUnavailable_WithoutTheHandlersReplyOrTrailers()
    {
        var provider = new UnitOfWorkProvider { CommitFails = true };
        await using var server = await StartAsync(provider);

        var call = await IdempotentCallTests.CallAsync(server, new DepositRequest { Account = "uow-2", Amount = 3 }, "uow-2");

        Assert.True(call.Status.StatusCode == StatusCode.Unavailable, call.Status.ToString());
        Assert.Null(call.Reply);
        Assert.Null(call.Trailers.Get("x-balance-version"));
        Assert.Equal(1, server.State.Executions);
        Assert.True(Assert.Single(provider.Created).Disposed);
    }

    [Fact]
    public async Task StoreThatCannotBegin_AnswersUnavailable_AndTheCallDoesNotRun()
    {
        var provider = new UnitOfWorkProvider { BeginFails = true };
        await using var server = await StartAsync(provider);

        var call = await IdempotentCallTests.CallAsync(server, new DepositRequest { Account = "uow-3", Amount = 3 }, "uow-3");

        Assert.True(call.Status.StatusCode == StatusCode.Unavailable, call.Status.ToString());
        Assert.Equal(0, server.State.Executions);
    }

    [Fact]
    public async Task ReplyOverMaxStoredBodySize_CommitsTheKeyWithTheCall_WithoutTheReply_AndDeliversTheReply()
    {
        // Unlike an HTTP response held for its commit, a unary reply is whole in memory when the call returns: it can
        // go out after the commit, so the call is not rolled back; the record (without the reply) commits with it.
        var provider = new UnitOfWorkProvider();
        await using var server = await StartAsync(provider, maxStoredBodySize: 1024);

        var call = await IdempotentCallTests.CallAsync(server, new DepositRequest { Account = new string('u', 4096), Amount = 3 }, "uow-4");

        Assert.Null(call.Error);
        Assert.Equal(4096, call.Reply!.Account.Length);
        Assert.Equal("1", call.Trailers.GetValue("x-balance-version"));
        var store = Assert.Single(provider.Created);
        Assert.Equal((1, 1, 0), (store.Claims, store.Completions, store.Releases));
        Assert.True(store.CompletedPayload < 1024, $"The record holds {store.CompletedPayload} bytes, over MaxStoredBodySize (1024).");
    }

    private static Task<GrpcTestServer> StartAsync(UnitOfWorkProvider provider, int? maxStoredBodySize = null) =>
        GrpcTestServer.StartAsync(
            map: app => app.MapGrpcService<LedgerService>().WithMetadata(provider),
            configureOptions: maxStoredBodySize is { } size ? o => o.MaxStoredBodySize = size : null);

    private sealed class UnitOfWorkProvider : IIdempotencyRequestStoreProvider
    {
        public bool BeginFails { get; init; }

        public bool CommitFails { get; init; }

        public System.Collections.Concurrent.ConcurrentQueue<UnitOfWorkStore> Created { get; } = new();

        public ValueTask<IIdempotencyUnitOfWorkStore> CreateStoreAsync(HttpContext context, CancellationToken cancellationToken)
        {
            if (BeginFails)
            {
                throw new IdempotencyStoreException("The unit of work cannot begin (test).");
            }

            var store = new UnitOfWorkStore(CommitFails);
            Created.Enqueue(store);
            return ValueTask.FromResult<IIdempotencyUnitOfWorkStore>(store);
        }
    }

    /// <summary>A unit of work that claims every key, and whose completion commits or fails.</summary>
    private sealed class UnitOfWorkStore(bool commitFails) : IIdempotencyUnitOfWorkStore
    {
        public int Claims { get; private set; }

        public int Completions { get; private set; }

        public int Releases { get; private set; }

        public bool Disposed { get; private set; }

        public int CompletedPayload { get; private set; }

        public ValueTask<IdempotencyClaimResult> ClaimAsync(IdempotencyClaimRequest request, CancellationToken cancellationToken)
        {
            Claims++;
            return ValueTask.FromResult(IdempotencyClaimResult.Claimed(TimeProvider.System.GetUtcNow().Add(request.LeaseDuration)));
        }

        public ValueTask<CompletionStatus> CompleteAsync(IdempotencyCompleteRequest request, CancellationToken cancellationToken)
        {
            Completions++;
            CompletedPayload = request.Payload.Length;
            return commitFails ? throw new IdempotencyStoreException("The commit failed (test).") : ValueTask.FromResult(CompletionStatus.Completed);
        }

        public ValueTask<bool> ReleaseAsync(string key, string ownerToken, CancellationToken cancellationToken)
        {
            Releases++;
            return ValueTask.FromResult(true);
        }

        public ValueTask DisposeAsync()
        {
            Disposed = true;
            return ValueTask.CompletedTask;
        }
    }
}
