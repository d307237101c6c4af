using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Options;
using static Idempotency.Core.Tests.Engine.EngineFactory;

namespace Idempotency.Core.Tests.Engine;

public sealed class IdempotencyEngineTests
{
    private readonly Microsoft.Extensions.Time.Testing.FakeTimeProvider _time = Time();
    private readonly ControllableStore _store;
    private readonly IdempotencyEngine _engine;

    public IdempotencyEngineTests()
    {
        _store = new ControllableStore(_time);
        _engine = Create(_time);
    }

    [Fact]
    public async Task Execute_RunsOnce_AndReturnsTheStoredRecordToEveryRetry()
    {
        var work = new ScriptedWork();

        var first = await _engine.ExecuteAsync(Request(_store), work, CancellationToken.None);
        var second = await _engine.ExecuteAsync(Request(_store), work, CancellationToken.None);

        Assert.Equal(IdempotencyExecutionStatus.Executed, first.Status);
        Assert.Equal("result-1", first.Outcome);
        Assert.Equal(IdempotencyExecutionStatus.Replayed, second.Status);
        Assert.Equal(IdempotencyRecordKind.OperationResult, second.Record.Kind);
        Assert.Equal("result-1", Encoding.UTF8.GetString(second.Record.Content.Span));
        Assert.Equal(1, work.Runs);
    }

    [Fact]
    public async Task Execute_TellsEveryCompletionWhenItsClaimsLeaseEnds()
    {
        // A store whose completion did not get through (a Redis fail-over) sends it again until then, and no longer:
        // after it, a retry may claim the key and run the work.
        await _engine.ExecuteAsync(Request(_store, "done"), new ScriptedWork(), CancellationToken.None);
        _time.Advance(TimeSpan.FromSeconds(7));
        var startedThenFailed = new ScriptedWork { Throw = new IOException("connection reset"), DeliveryStarted = true, Status = 201 };
        await Assert.ThrowsAsync<IOException>(() => _engine.ExecuteAsync(Request(_store, "outcome-unknown"), startedThenFailed, CancellationToken.None).AsTask());

        Assert.Equal(2, _store.LeasesGranted.Count);
        Assert.NotEqual(_store.LeasesGranted[0], _store.LeasesGranted[1]);
        Assert.Equal(_store.LeasesGranted.Select(lease => (DateTimeOffset?)lease), _store.LeasesToldToCompletions);
    }

    [Fact]
    public async Task Execute_ReleasesTheKey_AndRethrowsTheWorksException_WhenNothingWasDelivered()
    {
        var failing = new ScriptedWork { Throw = new TimeoutException("downstream") };

        var thrown = await Assert.ThrowsAsync<TimeoutException>(() => _engine.ExecuteAsync(Request(_store), failing, CancellationToken.None).AsTask());
        var retry = await _engine.ExecuteAsync(Request(_store), new ScriptedWork(), CancellationToken.None);

        Assert.Same(failing.Throw, thrown);
        Assert.Equal(1, _store.Releases);
        Assert.Equal(IdempotencyExecutionStatus.Executed, retry.Status);
    }

    [Fact]
    public async Task Execute_NeverMasksTheWorksException_WhenTheReleaseFailsToo()
    {
        _store.ReleaseFault = new IdempotencyStoreException("store down");
        var failing = new ScriptedWork { Throw = new InvalidOperationException("the work's own failure") };

        var thrown = await Assert.ThrowsAsync<InvalidOperationException>(() => _engine.ExecuteAsync(Request(_store), failing, CancellationToken.None).AsTask());

        Assert.Same(failing.Throw, thrown);
        Assert.Equal(1, _store.Releases);
    }

    [Fact]
    public async Task Execute_CompletesTheKeyAsOutcomeUnknown_WhenTheWorkThrowsAfterItsDeliveryStarted()
    {
        var failing = new ScriptedWork { Throw = new IOException("connection reset"), DeliveryStarted = true, Status = 201 };

        await Assert.ThrowsAsync<IOException>(() => _engine.ExecuteAsync(Request(_store), failing, CancellationToken.None).AsTask());
        var retryWork = new ScriptedWork();
        var retry = await _engine.ExecuteAsync(Request(_store), retryWork, CancellationToken.None);

        Assert.Equal(0, _store.Releases);
        Assert.Equal(IdempotencyExecutionStatus.Replayed, retry.Status);
        Assert.Equal(IdempotencyRecordKind.OutcomeUnknown, retry.Record.Kind);
        Assert.Equal(201, retry.Record.GetStartedStatus());
        Assert.Equal(0, retryWork.Runs);
    }

    [Fact]
    public async Task Execute_CompletesTheKeyAsOutcomeUnknown_WhenTheOutcomeCannotBeRecorded()
    {
        var work = new ScriptedWork { CodecThrows = new NotSupportedException("not serializable"), Status = 200 };

        var execution = await _engine.ExecuteAsync(Request(_store), work, CancellationToken.None);
        var retry = await _engine.ExecuteAsync(Request(_store), new ScriptedWork(), CancellationToken.None);

        Assert.Equal(IdempotencyExecutionStatus.OutcomeUnknown, execution.Status);
        Assert.Equal("result-1", execution.Outcome);
        Assert.Equal(IdempotencyRecordKind.OutcomeUnknown, retry.Record.Kind);
    }

    [Fact]
    public async Task Execute_ReleasesTheKey_WhenTheOutcomeIsTransient()
    {
        var execution = await _engine.ExecuteAsync(Request(_store), new ScriptedWork { Transient = true }, CancellationToken.None);
        var retry = await _engine.ExecuteAsync(Request(_store), new ScriptedWork(), CancellationToken.None);

        Assert.Equal(IdempotencyExecutionStatus.Released, execution.Status);
        Assert.Equal(IdempotencyExecutionStatus.Executed, retry.Status);
    }

    [Fact]
    public async Task Execute_ReportsALostClaim_WithTheOutcome()
    {
        _store.LoseClaims = true;

        var execution = await _engine.ExecuteAsync(Request(_store), new ScriptedWork(), CancellationToken.None);

        Assert.Equal(IdempotencyExecutionStatus.ClaimLost, execution.Status);
        Assert.Equal("result-1", execution.Outcome);
        Assert.True(execution.Ran);
    }

    [Fact]
    public async Task Execute_ReportsAFailedCompletion_WithTheStoresException()
    {
        var fault = new IdempotencyStoreException("store down");
        _store.CompleteFault = fault;

        var execution = await _engine.ExecuteAsync(Request(_store), new ScriptedWork(), CancellationToken.None);

        Assert.Equal(IdempotencyExecutionStatus.CompletionFailed, execution.Status);
        Assert.Same(fault, execution.Fault);
        Assert.True(execution.OutcomeRecorded);
    }

    [Fact]
    public async Task Execute_DoesNotRun_WhenTheStoreCannotBeReached()
    {
        _store.ClaimFault = new IdempotencyStoreException("connection refused");
        var work = new ScriptedWork();

        var execution = await _engine.ExecuteAsync(Request(_store), work, CancellationToken.None);

        Assert.Equal(IdempotencyExecutionStatus.StoreUnavailable, execution.Status);
        Assert.Same(_store.ClaimFault, execution.Fault);
        Assert.False(execution.OutcomeRecorded);
        Assert.Equal(0, work.Runs);
    }

    [Fact]
    public async Task Execute_ReportsTheRetryAfter_WhenTheScopeHoldsItsShare()
    {
        _store.ClaimFault = new IdempotencyScopeQuotaExceededException("full share", TimeSpan.FromSeconds(7));

        var execution = await _engine.ExecuteAsync(Request(_store), new ScriptedWork(), CancellationToken.None);

        Assert.Equal(IdempotencyExecutionStatus.ScopeQuotaExceeded, execution.Status);
        Assert.Equal(TimeSpan.FromSeconds(7), execution.RetryAfter);
        Assert.False(execution.OutcomeRecorded); // the adapter counts it (as throttled), having answered it
    }

    [Fact]
    public async Task Execute_AnswersInFlight_WhileTheOriginalRuns_AndWaitsForItWhenAsked()
    {
        var engine = Create(TimeProvider.System);
        var store = new ControllableStore(TimeProvider.System);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var original = engine.ExecuteAsync(Request(store), new ScriptedWork { During = async _ => { started.SetResult(); await release.Task; } }, CancellationToken.None).AsTask();
        await started.Task;

        var immediate = await engine.ExecuteAsync(Request(store), new ScriptedWork(), CancellationToken.None);
        var waiting = engine.ExecuteAsync(new IdempotencyExecutionRequest(store, "k-1", "scope", IdempotencyStorageKey.Create("scope", "k-1"), Enumerable.Repeat((byte)1, 32).ToArray()) { InFlightWait = TimeSpan.FromSeconds(30) }, new ScriptedWork(), CancellationToken.None).AsTask();
        release.SetResult();

        Assert.Equal(IdempotencyExecutionStatus.InFlight, immediate.Status);
        Assert.True(immediate.RetryAfter > TimeSpan.Zero);
        Assert.Equal(IdempotencyExecutionStatus.Executed, (await original).Status);
        Assert.Equal(IdempotencyExecutionStatus.Replayed, (await waiting).Status);
    }

    [Fact]
    public async Task Execute_AnswersMismatch_ForAnotherFingerprint_UnlessThePreviousFingerprintMatches()
    {
        await _engine.ExecuteAsync(Request(_store, fingerprint: 1), new ScriptedWork(), CancellationToken.None);
        var calls = 0;

        var mismatch = await _engine.ExecuteAsync(Request(_store, fingerprint: 2), new ScriptedWork(), CancellationToken.None);
        var byPrevious = await _engine.ExecuteAsync(
            Request(_store, fingerprint: 2),
            new ScriptedWork { PreviousFingerprint = _ => { calls++; return ValueTask.FromResult<byte[]?>(Enumerable.Repeat((byte)1, 32).ToArray()); } },
            CancellationToken.None);

        Assert.Equal(IdempotencyExecutionStatus.FingerprintMismatch, mismatch.Status);
        Assert.Equal(IdempotencyExecutionStatus.Replayed, byPrevious.Status);
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task Execute_CommitsTheWorkWithTheRecord_InAUnitOfWork()
    {
        var committed = new List<string>();
        var records = new ControllableStore(_time);
        await using var unitOfWork = new StagingUnitOfWorkStore(records, committed);

        var execution = await _engine.ExecuteAsync(Request(unitOfWork), new ScriptedWork { During = _ => { unitOfWork.Stage("debit 100"); return Task.CompletedTask; } }, CancellationToken.None);

        Assert.Equal(IdempotencyExecutionStatus.Executed, execution.Status);
        Assert.Equal(["debit 100"], committed);
    }

    [Fact]
    public async Task Execute_RollsTheUnitOfWorkBack_WhenTheOutcomeCannotBeRecorded_AndRethrows()
    {
        var committed = new List<string>();
        var records = new ControllableStore(_time);
        await using var unitOfWork = new StagingUnitOfWorkStore(records, committed);
        var work = new ScriptedWork { CodecThrows = new NotSupportedException("codec"), During = _ => { unitOfWork.Stage("debit 100"); return Task.CompletedTask; } };

        await Assert.ThrowsAsync<NotSupportedException>(() => _engine.ExecuteAsync(Request(unitOfWork), work, CancellationToken.None).AsTask());
        var retry = await _engine.ExecuteAsync(Request(records), new ScriptedWork(), CancellationToken.None);

        Assert.Empty(committed);
        Assert.Equal(IdempotencyExecutionStatus.Executed, retry.Status);
    }

    [Fact]
    public async Task Execute_ReleasesTheUnitOfWork_EvenWhenItsResponseHadStarted()
    {
        // A unit of work holds the outcome back until its commit: nothing can have been delivered, so nothing is presumed applied.
        var committed = new List<string>();
        var records = new ControllableStore(_time);
        await using var unitOfWork = new StagingUnitOfWorkStore(records, committed);

        await Assert.ThrowsAsync<IOException>(() => _engine.ExecuteAsync(Request(unitOfWork), new ScriptedWork { Throw = new IOException(), DeliveryStarted = true }, CancellationToken.None).AsTask());

        Assert.Equal(1, records.Releases);
        Assert.Empty(records.Completions);
    }

    [Fact]
    public async Task Execute_CountsOutcomes_AndTimesStoreCalls_WithTheStoresDeclaredName()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meters = services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        using var requests = new MetricCollector<long>(meters, IdempotencyTelemetry.MeterName, "idempotency.requests");
        using var durations = new MetricCollector<double>(meters, IdempotencyTelemetry.MeterName, "idempotency.store.duration");
        var engine = Create(_time, meters: meters);
        var inMemory = new InMemoryIdempotencyStore(Options.Create(new InMemoryIdempotencyStoreOptions()), _time);

        await engine.ExecuteAsync(Request(_store), new ScriptedWork(), CancellationToken.None);
        await engine.ExecuteAsync(Request(inMemory, "k-2"), new ScriptedWork(), CancellationToken.None);
        await engine.ExecuteAsync(Request(inMemory, "k-2", fingerprint: 9), new ScriptedWork(), CancellationToken.None);

        Assert.Equal(["executed", "executed", "mismatch"], requests.GetMeasurementSnapshot().Select(m => (string?)m.Tags["outcome"]));
        Assert.Equal(
            ["custom/claim", "custom/complete", "inmemory/claim", "inmemory/complete", "inmemory/claim"],
            durations.GetMeasurementSnapshot().Select(m => $"{m.Tags["store"]}/{m.Tags["operation"]}"));
    }

    [Fact]
    public async Task Execute_TellsTheWorkEveryOutcomeItCounts_IncludingBeforeRethrowingTheWorksException()
    {
        var executed = new ScriptedWork();
        var mismatched = new ScriptedWork();
        var failing = new ScriptedWork { Throw = new TimeoutException("downstream") };
        var startedThenFailing = new ScriptedWork { Throw = new IOException("connection reset"), DeliveryStarted = true };
        var transient = new ScriptedWork { Transient = true };

        await _engine.ExecuteAsync(Request(_store, "k-1"), executed, CancellationToken.None);
        await _engine.ExecuteAsync(Request(_store, "k-1", fingerprint: 9), mismatched, CancellationToken.None);
        await Assert.ThrowsAsync<TimeoutException>(() => _engine.ExecuteAsync(Request(_store, "k-2"), failing, CancellationToken.None).AsTask());
        await Assert.ThrowsAsync<IOException>(() => _engine.ExecuteAsync(Request(_store, "k-3"), startedThenFailing, CancellationToken.None).AsTask());
        await _engine.ExecuteAsync(Request(_store, "k-4"), transient, CancellationToken.None);

        Assert.Equal(["executed"], executed.OutcomesRecorded);
        Assert.Equal(["mismatch"], mismatched.OutcomesRecorded);
        Assert.Equal(["released"], failing.OutcomesRecorded);
        Assert.Equal(["outcome_unknown"], startedThenFailing.OutcomesRecorded);
        Assert.Equal(["released"], transient.OutcomesRecorded);
    }
}
