using System.Globalization;
using System.Text;
using System.Text.Json.Serialization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Idempotency.Core.Tests.Execution;

public sealed record Receipt(string Id, long Amount);

[JsonSerializable(typeof(Receipt))]
public sealed partial class ReceiptJsonContext : JsonSerializerContext;

public sealed class IdempotentExecutorTests
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", CultureInfo.InvariantCulture));
    private readonly InMemoryIdempotencyStore _store;
    private readonly IdempotentExecutor _executor;
    private int _executions;

    public IdempotentExecutorTests()
    {
        _store = new InMemoryIdempotencyStore(Options.Create(new InMemoryIdempotencyStoreOptions()), _time);
        _executor = new IdempotentExecutor(new IdempotencyEngine(Options.Create(new IdempotencyEngineOptions()), _time), _store, Options.Create(new IdempotentExecutorOptions()));
    }

    [Fact]
    public void Options_HaveDocumentedDefaults()
    {
        var options = new IdempotentExecutorOptions();

        Assert.Equal(TimeSpan.FromMinutes(1), options.LeaseDuration);
        Assert.Equal(TimeSpan.FromHours(24), options.Retention);
    }

    [Fact]
    public async Task ExecuteAsync_RunsOnce_AndReplaysTheResult()
    {
        var message = new IdempotentOperation("msg-1", Encoding.UTF8.GetBytes("debit 100"));

        var first = await _executor.ExecuteAsync(message, ChargeAsync, ReceiptJsonContext.Default.Receipt);
        var second = await _executor.ExecuteAsync(message, ChargeAsync, ReceiptJsonContext.Default.Receipt);

        Assert.Equal(1, _executions);
        Assert.False(first.IsReplay);
        Assert.True(second.IsReplay);
        Assert.Equal(first.Value, second.Value);
    }

    [Fact]
    public async Task ExecuteAsync_Throws_WhenTheKeyIsReusedWithAnotherPayload()
    {
        await _executor.ExecuteAsync(new IdempotentOperation("msg-1", "a"u8.ToArray()), ChargeAsync, ReceiptJsonContext.Default.Receipt);

        await Assert.ThrowsAsync<IdempotencyKeyReusedException>(() =>
            _executor.ExecuteAsync(new IdempotentOperation("msg-1", "b"u8.ToArray()), ChargeAsync, ReceiptJsonContext.Default.Receipt).AsTask());
        Assert.Equal(1, _executions);
    }

    [Fact]
    public async Task ExecuteAsync_Throws_WhileTheSameKeyIsInFlight()
    {
        var gate = new TaskCompletionSource();
        var message = new IdempotentOperation("msg-1", "a"u8.ToArray());
        var running = _executor.ExecuteAsync(message, async ct => { await gate.Task; return new Receipt("r", 1); }, ReceiptJsonContext.Default.Receipt);

        var error = await Assert.ThrowsAsync<IdempotentOperationInFlightException>(() =>
            _executor.ExecuteAsync(message, ChargeAsync, ReceiptJsonContext.Default.Receipt).AsTask());
        gate.SetResult();
        await running;

        Assert.Equal(TimeSpan.FromMinutes(1), error.RetryAfter);
        Assert.Equal(0, _executions);
    }

    [Fact]
    public async Task ExecuteAsync_ReleasesTheKey_WhenTheOperationThrows()
    {
        var message = new IdempotentOperation("msg-1", "a"u8.ToArray());

        await Assert.ThrowsAsync<TimeoutException>(() =>
            _executor.ExecuteAsync<Receipt>(message, _ => throw new TimeoutException(), ReceiptJsonContext.Default.Receipt).AsTask());
        var retry = await _executor.ExecuteAsync(message, ChargeAsync, ReceiptJsonContext.Default.Receipt);

        Assert.False(retry.IsReplay);
        Assert.Equal(1, _executions);
    }

    [Fact]
    public async Task ExecuteAsync_KeepsScopesApart()
    {
        await _executor.ExecuteAsync(new IdempotentOperation("msg-1", "a"u8.ToArray(), scope: "tenant-a"), ChargeAsync, ReceiptJsonContext.Default.Receipt);
        var other = await _executor.ExecuteAsync(new IdempotentOperation("msg-1", "a"u8.ToArray(), scope: "tenant-b"), ChargeAsync, ReceiptJsonContext.Default.Receipt);

        Assert.False(other.IsReplay);
        Assert.Equal(2, _executions);
    }

    [Fact]
    public async Task ExecuteAsync_ClaimsTheKeyForTheOperationsScope()
    {
        await _executor.ExecuteAsync(new IdempotentOperation("msg-1", "a"u8.ToArray(), scope: "tenant-1"), ChargeAsync, ReceiptJsonContext.Default.Receipt);

        Assert.Equal(1, _store.ScopeUsageOf("tenant-1").Records);
        Assert.Equal(0, _store.ScopeUsageOf(string.Empty).Records);
    }

    [Fact]
    public async Task ExecuteAsync_Throws_WithoutRunning_WhenTheScopeHoldsItsShareOfTheStore()
    {
        var store = new InMemoryIdempotencyStore(
            Options.Create(new InMemoryIdempotencyStoreOptions { MaxEntries = 2, MaxScopeShare = 0.5, WhenFull = InMemoryStoreFullBehavior.RefuseNewClaims }),
            _time);
        var executor = new IdempotentExecutor(new IdempotencyEngine(Options.Create(new IdempotencyEngineOptions()), _time), store, Options.Create(new IdempotentExecutorOptions()));
        await executor.ExecuteAsync(new IdempotentOperation("msg-1", "a"u8.ToArray(), scope: "tenant-1"), ChargeAsync, ReceiptJsonContext.Default.Receipt);

        var refused = await Assert.ThrowsAsync<IdempotencyScopeQuotaExceededException>(() =>
            executor.ExecuteAsync(new IdempotentOperation("msg-2", "b"u8.ToArray(), scope: "tenant-1"), ChargeAsync, ReceiptJsonContext.Default.Receipt).AsTask());
        var other = await executor.ExecuteAsync(new IdempotentOperation("msg-2", "b"u8.ToArray(), scope: "tenant-2"), ChargeAsync, ReceiptJsonContext.Default.Receipt);

        Assert.True(refused.RetryAfter >= TimeSpan.FromSeconds(1));
        Assert.False(other.IsReplay);
        Assert.Equal(2, _executions);
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("\"quoted\"")]
    [InlineData("é")]
    public void IdempotentOperation_RejectsInvalidKeys(string key)
    {
        Assert.Throws<ArgumentException>(() => new IdempotentOperation(key, ReadOnlyMemory<byte>.Empty));
    }

    [Fact]
    public async Task AddIdempotentExecutor_RegistersTheExecutorOverTheInMemoryStore_AndValidatesOptions()
    {
        var services = new ServiceCollection();
        services.AddIdempotentExecutor(options => options.LeaseDuration = TimeSpan.Zero);
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<IdempotentExecutorOptions>>().Value);
        Assert.Contains("LeaseDuration", error.Message, StringComparison.Ordinal);
        Assert.IsType<InMemoryIdempotencyStore>(provider.GetRequiredService<IIdempotencyStore>());

        var valid = new ServiceCollection();
        valid.AddIdempotentExecutor();
        valid.AddIdempotentExecutor();
        using var validProvider = valid.BuildServiceProvider();
        var executor = validProvider.GetRequiredService<IdempotentExecutor>();
        var result = await executor.ExecuteAsync(new IdempotentOperation("k", "p"u8.ToArray()), ChargeAsync, ReceiptJsonContext.Default.Receipt);
        Assert.False(result.IsReplay);
    }

    [Fact]
    public async Task ExecuteAsync_RethrowsTheOperationsException_WhenReleasingTheKeyFailsToo()
    {
        // Before the engine, the release's exception replaced the operation's, and the caller never saw what failed.
        var store = new Engine.ControllableStore(_time) { ReleaseFault = new IdempotencyStoreException("store down") };
        var executor = CreateExecutor(store);
        var failure = new InvalidOperationException("card declined");

        var thrown = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            executor.ExecuteAsync(new IdempotentOperation("msg-1", "a"u8.ToArray()), _ => ValueTask.FromException<Receipt>(failure), ReceiptJsonContext.Default.Receipt).AsTask());

        Assert.Same(failure, thrown);
    }

    [Fact]
    public async Task ExecuteAsync_ReturnsTheResult_WhenTheOperationRanButItsResultCouldNotBeStored()
    {
        // The operation's effect happened: reporting a failure would make the caller (a broker) deliver it again.
        var store = new Engine.ControllableStore(_time) { CompleteFault = new IdempotencyStoreException("store down") };

        var result = await CreateExecutor(store).ExecuteAsync(new IdempotentOperation("msg-1", "a"u8.ToArray()), ChargeAsync, ReceiptJsonContext.Default.Receipt);

        Assert.False(result.IsReplay);
        Assert.Equal(1, _executions);
    }

    [Fact]
    public async Task ExecuteAsync_RunsOperationsWithoutAResult_Once()
    {
        var message = new IdempotentOperation("msg-1", "ping"u8.ToArray());

        var first = await _executor.ExecuteAsync(message, _ => { _executions++; return Task.CompletedTask; });
        var second = await _executor.ExecuteAsync(message, _ => { _executions++; return Task.CompletedTask; });

        Assert.False(first.IsReplay);
        Assert.True(second.IsReplay);
        Assert.Equal(1, _executions);
    }

    [Fact]
    public async Task ExecuteAsync_CommitsTheChangesAndTheResultTogether_InTheOperationsUnitOfWork()
    {
        var committed = new List<string>();
        await using (var unitOfWork = new Engine.StagingUnitOfWorkStore(_store, committed))
        {
            var message = new IdempotentOperation("msg-1", "debit"u8.ToArray()) { UnitOfWork = unitOfWork };
            await _executor.ExecuteAsync(message, ct => { unitOfWork.Stage("debit 100"); return ChargeAsync(ct); }, ReceiptJsonContext.Default.Receipt);
        }

        var replay = await _executor.ExecuteAsync(new IdempotentOperation("msg-1", "debit"u8.ToArray()), ChargeAsync, ReceiptJsonContext.Default.Receipt);

        Assert.Equal(["debit 100"], committed);
        Assert.True(replay.IsReplay);
        Assert.Equal(1, _executions);
    }

    [Fact]
    public async Task ExecuteAsync_Throws_AndKeepsNothing_WhenTheUnitOfWorkCannotCommit()
    {
        var committed = new List<string>();
        await using (var unitOfWork = new Engine.StagingUnitOfWorkStore(_store, committed) { FailCommit = true })
        {
            var message = new IdempotentOperation("msg-1", "debit"u8.ToArray()) { UnitOfWork = unitOfWork };
            await Assert.ThrowsAsync<IdempotencyStoreException>(() =>
                _executor.ExecuteAsync(message, ct => { unitOfWork.Stage("debit 100"); return ChargeAsync(ct); }, ReceiptJsonContext.Default.Receipt).AsTask());
        }

        var retry = await _executor.ExecuteAsync(new IdempotentOperation("msg-1", "debit"u8.ToArray()), ChargeAsync, ReceiptJsonContext.Default.Receipt);

        Assert.Empty(committed);
        Assert.False(retry.IsReplay);
    }

    [Fact]
    public async Task ExecuteAsync_CountsEveryOutcome_AsTheMiddlewareDoes()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meters = services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        using var requests = new Microsoft.Extensions.Diagnostics.Metrics.Testing.MetricCollector<long>(meters, IdempotencyTelemetry.MeterName, "idempotency.requests");
        var executor = new IdempotentExecutor(new IdempotencyEngine(Options.Create(new IdempotencyEngineOptions()), _time, meterFactory: meters), _store, Options.Create(new IdempotentExecutorOptions()));
        var message = new IdempotentOperation("msg-1", "a"u8.ToArray()) { Name = "ChargeCard" };

        await executor.ExecuteAsync(message, ChargeAsync, ReceiptJsonContext.Default.Receipt);
        await executor.ExecuteAsync(message, ChargeAsync, ReceiptJsonContext.Default.Receipt);
        await Assert.ThrowsAsync<IdempotencyKeyReusedException>(() => executor.ExecuteAsync(new IdempotentOperation("msg-1", "b"u8.ToArray()), ChargeAsync, ReceiptJsonContext.Default.Receipt).AsTask());

        Assert.Equal(["executed", "replayed", "mismatch"], requests.GetMeasurementSnapshot().Select(m => (string?)m.Tags["outcome"]));
    }

    [Fact]
    public async Task ExecuteAsync_ReadsResultsStoredBeforeTheEngine()
    {
        // A record exactly as the executor wrote it before the engine: version 1, kind 2, int32 length, JSON.
        var key = IdempotencyStorageKey.Create(string.Empty, "msg-1");
        var payload = "p"u8.ToArray();
        await _store.ClaimAsync(new IdempotencyClaimRequest(key, RequestFingerprintBuilder.Compute(payload), "old-owner", TimeSpan.FromMinutes(1)), CancellationToken.None);
        await _store.CompleteAsync(new IdempotencyCompleteRequest(key, "old-owner", Convert.FromHexString("0102" + "0000001A" + "7B224964223A22722D6F6C64222C22416D6F756E74223A37307D"), TimeSpan.FromHours(1)), CancellationToken.None);

        var result = await _executor.ExecuteAsync(new IdempotentOperation("msg-1", payload), ChargeAsync, ReceiptJsonContext.Default.Receipt);

        Assert.True(result.IsReplay);
        Assert.Equal(new Receipt("r-old", 70), result.Value);
    }

    private IdempotentExecutor CreateExecutor(IIdempotencyStore store) =>
        new(new IdempotencyEngine(Options.Create(new IdempotencyEngineOptions()), _time), store, Options.Create(new IdempotentExecutorOptions()));

    private ValueTask<Receipt> ChargeAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _executions);
        return ValueTask.FromResult(new Receipt("r-" + _executions.ToString(CultureInfo.InvariantCulture), 100));
    }
}
