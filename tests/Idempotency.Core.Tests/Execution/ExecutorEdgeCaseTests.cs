using System.Globalization;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Idempotency.Core.Tests.Execution;

/// <summary>A result System.Text.Json refuses to write: it refers to itself.</summary>
public sealed class SelfReferencingReceipt
{
    public SelfReferencingReceipt? Self { get; set; }
}

[JsonSerializable(typeof(SelfReferencingReceipt))]
public sealed partial class SelfReferencingReceiptJsonContext : JsonSerializerContext;

public sealed class ExecutorEdgeCaseTests
{
    private const string Scope = "user-4711";
    private const string Key = "msg-1";

    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", CultureInfo.InvariantCulture));
    private int _executions;

    // Store clients put the key they were sending into their messages (StackExchange.Redis does for timeouts), and the
    // stores wrap those exceptions. The engine keeps them out of every log line above Debug; the executor rethrew them
    // to the message handler, whose broker logs the exception at Error: the scope (a user id) and the key with it.
    [Fact]
    public async Task StoreFaultAtClaim_ReachesTheCallerWithoutTheStorageKey()
    {
        var storageKey = IdempotencyStorageKey.Create(Scope, Key);
        var store = new Engine.ControllableStore(_time)
        {
            ClaimFault = new IdempotencyStoreException(
                "The Redis idempotency store could not claim the key: Redis did not answer in time.",
                new TimeoutException($"Timeout awaiting response (outbound=0KiB, inbound=0KiB, 5000ms elapsed), command=EVALSHA, key: idempotency:{storageKey}")),
        };

        var error = await Assert.ThrowsAsync<IdempotencyStoreException>(() =>
            CreateExecutor(store).ExecuteAsync(new IdempotentOperation(Key, "a"u8.ToArray(), Scope), ChargeAsync, ReceiptJsonContext.Default.Receipt).AsTask());

        Assert.DoesNotContain(Scope, error.ToString(), StringComparison.Ordinal);
        Assert.Contains("did not answer in time", error.ToString(), StringComparison.Ordinal); // what failed is still told
        Assert.Equal(0, _executions);
    }

    [Fact]
    public async Task UnitOfWorkCommitFault_ReachesTheCallerWithoutTheStorageKey()
    {
        var storageKey = IdempotencyStorageKey.Create(Scope, Key);
        await using var unitOfWork = new FaultingUnitOfWork(new Engine.ControllableStore(_time)
        {
            CompleteFault = new IdempotencyStoreException($"23505: duplicate key value violates unique constraint; Key (storage_key)=({storageKey}) already exists."),
        });

        var error = await Assert.ThrowsAsync<IdempotencyStoreException>(() =>
            CreateExecutor(new Engine.ControllableStore(_time))
                .ExecuteAsync(new IdempotentOperation(Key, "a"u8.ToArray(), Scope) { UnitOfWork = unitOfWork }, ChargeAsync, ReceiptJsonContext.Default.Receipt).AsTask());

        Assert.DoesNotContain(Scope, error.ToString(), StringComparison.Ordinal);
        Assert.Contains("duplicate key value", error.ToString(), StringComparison.Ordinal);
    }

    // A store fault without the key in it reaches the caller unchanged, as documented: the same exception object.
    [Fact]
    public async Task StoreFaultWithoutTheKey_IsRethrownUnchanged()
    {
        var fault = new IdempotencyStoreException("store down");
        var store = new Engine.ControllableStore(_time) { ClaimFault = fault };

        var error = await Assert.ThrowsAsync<IdempotencyStoreException>(() =>
            CreateExecutor(store).ExecuteAsync(new IdempotentOperation(Key, "a"u8.ToArray(), Scope), ChargeAsync, ReceiptJsonContext.Default.Receipt).AsTask());

        Assert.Same(fault, error);
    }

    // Pins right-but-fragile behaviour: the caller's token is cancelled once the work has run, and its result is
    // still recorded (the engine completes with CancellationToken.None), so the redelivery is a replay.
    [Fact]
    public async Task CancellationAfterTheWorkRan_StillRecordsTheResult()
    {
        var store = new Engine.ControllableStore(_time);
        var executor = CreateExecutor(store);
        using var cancellation = new CancellationTokenSource();
        var message = new IdempotentOperation(Key, "a"u8.ToArray(), Scope);

        await executor.ExecuteAsync(message, async ct => { var receipt = await ChargeAsync(ct); await cancellation.CancelAsync(); return receipt; }, ReceiptJsonContext.Default.Receipt, cancellation.Token);
        var redelivery = await executor.ExecuteAsync(message, ChargeAsync, ReceiptJsonContext.Default.Receipt);

        Assert.True(redelivery.IsReplay);
        Assert.Equal(1, _executions);
    }

    // A result that cannot be serialized: the first call returns it (the work ran); every redelivery is told the
    // outcome is unknown and none runs the work again.
    [Fact]
    public async Task UnserializableResult_IsReturnedOnce_AndNeverRunAgain()
    {
        var executor = CreateExecutor(new Engine.ControllableStore(_time));
        var message = new IdempotentOperation(Key, "a"u8.ToArray(), Scope);
        ValueTask<SelfReferencingReceipt> RunAsync(CancellationToken ct)
        {
            Interlocked.Increment(ref _executions);
            var receipt = new SelfReferencingReceipt();
            receipt.Self = receipt;
            return ValueTask.FromResult(receipt);
        }

        var first = await executor.ExecuteAsync(message, RunAsync, SelfReferencingReceiptJsonContext.Default.SelfReferencingReceipt);
        await Assert.ThrowsAsync<IdempotentOperationOutcomeUnknownException>(() =>
            executor.ExecuteAsync(message, RunAsync, SelfReferencingReceiptJsonContext.Default.SelfReferencingReceipt).AsTask());

        Assert.False(first.IsReplay);
        Assert.Equal(1, _executions);
    }

    private IdempotentExecutor CreateExecutor(IIdempotencyStore store) =>
        new(new IdempotencyEngine(Options.Create(new IdempotencyEngineOptions()), _time), store, Options.Create(new IdempotentExecutorOptions()));

    private ValueTask<Receipt> ChargeAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _executions);
        return ValueTask.FromResult(new Receipt("r-" + _executions.ToString(CultureInfo.InvariantCulture), 100));
    }

    /// <summary>A unit of work over a store whose commit (completion) can be made to fail.</summary>
    private sealed class FaultingUnitOfWork(IIdempotencyStore records) : IIdempotencyUnitOfWorkStore
    {
        public ValueTask<IdempotencyClaimResult> ClaimAsync(IdempotencyClaimRequest request, CancellationToken cancellationToken) => records.ClaimAsync(request, cancellationToken);

        public ValueTask<CompletionStatus> CompleteAsync(IdempotencyCompleteRequest request, CancellationToken cancellationToken) => records.CompleteAsync(request, cancellationToken);

        public ValueTask<bool> ReleaseAsync(string key, string ownerToken, CancellationToken cancellationToken) => records.ReleaseAsync(key, ownerToken, cancellationToken);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
