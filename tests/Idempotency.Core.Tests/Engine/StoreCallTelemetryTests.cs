using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Options;
using static Idempotency.Core.Tests.Engine.EngineFactory;

namespace Idempotency.Core.Tests.Engine;

// A store call answered synchronously skips the async state machine; one that fails is told apart in telemetry however
// it fails: by throwing, by returning a faulted task, or by faulting later.
public sealed class StoreCallTelemetryTests
{
    public enum FailureMode
    {
        Throws,
        ReturnsFaultedTask,
        FaultsLater,
    }

    [Theory]
    [InlineData(FailureMode.Throws)]
    [InlineData(FailureMode.ReturnsFaultedTask)]
    [InlineData(FailureMode.FaultsLater)]
    public async Task FailingClaim_IsTimedAsAFailure_AndItsActivityEndsInError(FailureMode mode)
    {
        using var telemetry = new Telemetry();
        var work = new ScriptedWork();

        var execution = await Create(Time(), meters: telemetry.Meters).ExecuteAsync(Request(new FailingStore(mode)), work, CancellationToken.None);

        Assert.Equal(IdempotencyExecutionStatus.StoreUnavailable, execution.Status);
        Assert.Equal(0, work.Runs);
        var measurement = Assert.Single(telemetry.Durations.GetMeasurementSnapshot());
        Assert.Equal("failure", measurement.Tags["result"]);
        Assert.Equal("claim", measurement.Tags["operation"]);
        var activity = Assert.Single(telemetry.Activities);
        Assert.Equal("idempotency.store.claim", activity.OperationName);
        Assert.Equal(ActivityStatusCode.Error, activity.Status);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task SucceedingCalls_AreTimedAsSuccesses_AndTheirActivitiesEnd_WhetherTheStoreAnswersAtOnceOrLater(bool answersLater)
    {
        using var telemetry = new Telemetry();
        var time = Time();
        var store = InMemoryStore(time, answersLater);

        var execution = await Create(time, meters: telemetry.Meters).ExecuteAsync(Request(store), new ScriptedWork(), CancellationToken.None);

        Assert.Equal(IdempotencyExecutionStatus.Executed, execution.Status);
        Assert.Equal(
            ["claim/success", "complete/success"],
            telemetry.Durations.GetMeasurementSnapshot().Select(m => $"{m.Tags["operation"]}/{m.Tags["result"]}"));
        Assert.Equal(["idempotency.store.claim", "idempotency.store.complete"], telemetry.Activities.Select(a => a.OperationName));
        Assert.All(telemetry.Activities, a => Assert.Equal(ActivityStatusCode.Unset, a.Status));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AfterEachStoreCall_TheCallersActivityIsCurrentAgain_NotTheStoreCallsEndedOne(bool answersLater)
    {
        using var telemetry = new Telemetry();
        var time = Time();
        var store = InMemoryStore(time, answersLater);
        var caller = Activity.Current;
        Activity? duringWork = null;
        var work = new ScriptedWork { During = _ => { duringWork = Activity.Current; return Task.CompletedTask; } };

        await Create(time, meters: telemetry.Meters).ExecuteAsync(Request(store), work, CancellationToken.None);

        Assert.NotNull(caller);
        Assert.Same(caller, duringWork); // after the claim
        Assert.Same(caller, Assert.Single(work.ActivitiesAtOutcomes)); // after the completion
        Assert.All(telemetry.Activities, a => Assert.Same(caller, a.Parent));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task UnderACallerActivityAlreadyStopped_TheStoreCallsEndedActivityIsNotLeftCurrent(bool answersLater)
    {
        // Work a request handed to Task.Run goes on under the request's activity after the request ended and stopped it;
        // Activity.Current's setter refuses a stopped activity, so putting the caller's back by hand leaves the store's.
        using var telemetry = new Telemetry();
        var time = Time();
        var store = InMemoryStore(time, answersLater);
        using var source = new ActivitySource(nameof(StoreCallTelemetryTests));
        var request = source.StartActivity("request") ?? throw new InvalidOperationException("The request's activity was not sampled.");
        var requestEnded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var work = new ScriptedWork();
        var background = Task.Run(async () =>
        {
            await requestEnded.Task;
            await Create(time, meters: telemetry.Meters).ExecuteAsync(Request(store), work, CancellationToken.None);
        });
        request.Stop();
        requestEnded.SetResult();
        await background;

        Assert.Same(request, Assert.Single(work.ActivitiesAtOutcomes)); // after the completion
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AnAsyncLocalTheStoreSets_DoesNotReachTheCaller(bool answersLater)
    {
        // As after a call to an async method: what the store's synchronous part sets stays in the store's call.
        var store = new AsyncLocalSettingStore(InMemoryStore(Time(), answersLater));
        string? afterClaim = "not read", afterCompletion = "not read";
        var work = new ScriptedWork
        {
            During = _ => { afterClaim = AsyncLocalSettingStore.Value.Value; return Task.CompletedTask; },
            AtOutcome = _ => afterCompletion = AsyncLocalSettingStore.Value.Value,
        };

        var execution = await Create(Time()).ExecuteAsync(Request(store), work, CancellationToken.None);

        Assert.Equal(IdempotencyExecutionStatus.Executed, execution.Status);
        Assert.Null(afterClaim);
        Assert.Null(afterCompletion);
    }

    [Fact]
    public async Task AMeterListenerThatThrows_StillEndsTheStoreCallsActivity()
    {
        using var telemetry = new Telemetry();
        using var throwing = new System.Diagnostics.Metrics.MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Scope == telemetry.Meters && instrument.Name == "idempotency.store.duration")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        throwing.SetMeasurementEventCallback<double>((_, _, _, _) => throw new InvalidOperationException("a listener's bug"));
        throwing.Start();

        var execution = await Create(Time(), meters: telemetry.Meters).ExecuteAsync(Request(InMemoryStore(Time(), answersLater: false)), new ScriptedWork(), CancellationToken.None);

        // The engine counts the claim as failed (its timing threw); the store's call itself succeeded, and its activity ended.
        Assert.Equal(IdempotencyExecutionStatus.StoreUnavailable, execution.Status);
        var claim = Assert.Single(telemetry.Activities);
        Assert.Equal("idempotency.store.claim", claim.OperationName);
    }

    // The in-memory store answers every call at once; wrapped, it answers after a yield, as a store over the network does.
    private static IIdempotencyStore InMemoryStore(TimeProvider time, bool answersLater)
    {
        var inMemory = new InMemoryIdempotencyStore(Options.Create(new InMemoryIdempotencyStoreOptions()), time);
        return answersLater ? new LaterStore(inMemory) : inMemory;
    }

    /// <summary>
    /// Collects the engine's store-call durations and activities while it lives: only this test's, under a parent activity
    /// of its own, since other tests running at the same time start store activities too.
    /// </summary>
    private sealed class Telemetry : IDisposable
    {
        private static readonly ActivitySource s_tests = new(nameof(StoreCallTelemetryTests));
        private readonly ActivityListener _listener;
        private readonly ServiceProvider _services;
        private readonly Activity _parent;

        public Telemetry()
        {
            _listener = new ActivityListener
            {
                ShouldListenTo = source => source.Name is IdempotencyTelemetry.ActivitySourceName or nameof(StoreCallTelemetryTests),
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
                ActivityStopped = activity =>
                {
                    if (activity.TraceId == ParentTraceId && activity.OperationName.StartsWith("idempotency.store.", StringComparison.Ordinal))
                    {
                        lock (Activities)
                        {
                            Activities.Add(activity);
                        }
                    }
                },
            };
            ActivitySource.AddActivityListener(_listener);
            _parent = s_tests.StartActivity("test") ?? throw new InvalidOperationException("The test's own activity was not sampled.");
            ParentTraceId = _parent.TraceId;
            _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
            Meters = _services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
            Durations = new MetricCollector<double>(Meters, IdempotencyTelemetry.MeterName, "idempotency.store.duration");
        }

        public System.Diagnostics.Metrics.IMeterFactory Meters { get; }

        public MetricCollector<double> Durations { get; }

        public List<Activity> Activities { get; } = [];

        private ActivityTraceId ParentTraceId { get; }

        public void Dispose()
        {
            _parent.Dispose();
            _listener.Dispose();
            Durations.Dispose();
            _services.Dispose();
        }
    }

    /// <summary>A store whose claim fails in the way given.</summary>
    private sealed class FailingStore(FailureMode mode) : IIdempotencyStore
    {
        public ValueTask<IdempotencyClaimResult> ClaimAsync(IdempotencyClaimRequest request, CancellationToken cancellationToken) => mode switch
        {
            FailureMode.Throws => throw new IdempotencyStoreException("the store threw"),
            FailureMode.ReturnsFaultedTask => ValueTask.FromException<IdempotencyClaimResult>(new IdempotencyStoreException("a faulted task")),
            _ => FaultLaterAsync(),
        };

        public ValueTask<CompletionStatus> CompleteAsync(IdempotencyCompleteRequest request, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("Nothing was claimed, so nothing completes.");

        public ValueTask<bool> ReleaseAsync(string key, string ownerToken, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("Nothing was claimed, so nothing is released.");

        private static async ValueTask<IdempotencyClaimResult> FaultLaterAsync()
        {
            await Task.Yield();
            throw new IdempotencyStoreException("faulted after a yield");
        }
    }

    /// <summary>The in-memory store, answering after a yield as a store over the network does.</summary>
    private sealed class AsyncLocalSettingStore(IIdempotencyStore inner) : IIdempotencyStore
    {
        public static readonly AsyncLocal<string?> Value = new();

        public ValueTask<IdempotencyClaimResult> ClaimAsync(IdempotencyClaimRequest request, CancellationToken cancellationToken)
        {
            Value.Value = "set by the store's claim";
            return inner.ClaimAsync(request, cancellationToken);
        }

        public ValueTask<CompletionStatus> CompleteAsync(IdempotencyCompleteRequest request, CancellationToken cancellationToken)
        {
            Value.Value = "set by the store's completion";
            return inner.CompleteAsync(request, cancellationToken);
        }

        public ValueTask<bool> ReleaseAsync(string key, string ownerToken, CancellationToken cancellationToken) =>
            inner.ReleaseAsync(key, ownerToken, cancellationToken);
    }

    private sealed class LaterStore(IIdempotencyStore inner) : IIdempotencyStore
    {
        public async ValueTask<IdempotencyClaimResult> ClaimAsync(IdempotencyClaimRequest request, CancellationToken cancellationToken)
        {
            await Task.Yield();
            return await inner.ClaimAsync(request, cancellationToken);
        }

        public async ValueTask<CompletionStatus> CompleteAsync(IdempotencyCompleteRequest request, CancellationToken cancellationToken)
        {
            await Task.Yield();
            return await inner.CompleteAsync(request, cancellationToken);
        }

        public async ValueTask<bool> ReleaseAsync(string key, string ownerToken, CancellationToken cancellationToken)
        {
            await Task.Yield();
            return await inner.ReleaseAsync(key, ownerToken, cancellationToken);
        }
    }
}
