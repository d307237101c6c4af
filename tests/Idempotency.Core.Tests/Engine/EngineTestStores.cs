using System.Globalization;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Idempotency.Core.Tests.Engine;

/// <summary>An in-memory store whose release and completion can be made to fail or to report a lost claim.</summary>
internal sealed class ControllableStore(TimeProvider time) : IIdempotencyStore
{
    private readonly InMemoryIdempotencyStore _inner = new(Options.Create(new InMemoryIdempotencyStoreOptions()), time);

    public Exception? ClaimFault { get; set; }

    public Exception? ReleaseFault { get; set; }

    public Exception? CompleteFault { get; set; }

    public bool LoseClaims { get; set; }

    public int Releases { get; private set; }

    public List<byte[]> Completions { get; } = [];

    /// <summary>The lease end of each claim granted, and the one each completion was told (in order).</summary>
    public List<DateTimeOffset> LeasesGranted { get; } = [];

    public List<DateTimeOffset?> LeasesToldToCompletions { get; } = [];

    public async ValueTask<IdempotencyClaimResult> ClaimAsync(IdempotencyClaimRequest request, CancellationToken cancellationToken)
    {
        if (ClaimFault is { } fault)
        {
            throw fault;
        }

        var claim = await _inner.ClaimAsync(request, cancellationToken);
        if (claim.Status == ClaimStatus.Claimed)
        {
            LeasesGranted.Add(claim.LeaseExpiresAt);
        }

        return claim;
    }

    public ValueTask<CompletionStatus> CompleteAsync(IdempotencyCompleteRequest request, CancellationToken cancellationToken)
    {
        if (CompleteFault is { } fault)
        {
            return ValueTask.FromException<CompletionStatus>(fault);
        }

        Completions.Add(request.Payload.ToArray());
        LeasesToldToCompletions.Add(request.LeaseExpiresAt);
        return LoseClaims ? ValueTask.FromResult(CompletionStatus.ClaimLost) : _inner.CompleteAsync(request, cancellationToken);
    }

    public ValueTask<bool> ReleaseAsync(string key, string ownerToken, CancellationToken cancellationToken)
    {
        Releases++;
        return ReleaseFault is { } fault ? ValueTask.FromException<bool>(fault) : _inner.ReleaseAsync(key, ownerToken, cancellationToken);
    }
}

/// <summary>
/// A unit-of-work store over the in-memory store: the work's changes are staged and become visible only when the
/// completion commits them with the record, as the PostgreSQL unit of work does with its transaction.
/// </summary>
internal sealed class StagingUnitOfWorkStore(IIdempotencyStore records, List<string> committed) : IIdempotencyUnitOfWorkStore
{
    private readonly List<string> _staged = [];

    public bool FailCommit { get; set; }

    public void Stage(string change) => _staged.Add(change);

    public ValueTask<IdempotencyClaimResult> ClaimAsync(IdempotencyClaimRequest request, CancellationToken cancellationToken) => records.ClaimAsync(request, cancellationToken);

    public async ValueTask<CompletionStatus> CompleteAsync(IdempotencyCompleteRequest request, CancellationToken cancellationToken)
    {
        if (FailCommit)
        {
            await records.ReleaseAsync(request.Key, request.OwnerToken, cancellationToken);
            _staged.Clear();
            throw new IdempotencyStoreException("The commit failed; everything was rolled back.");
        }

        var status = await records.CompleteAsync(request, cancellationToken);
        if (status == CompletionStatus.Completed)
        {
            committed.AddRange(_staged);
        }

        _staged.Clear();
        return status;
    }

    public ValueTask<bool> ReleaseAsync(string key, string ownerToken, CancellationToken cancellationToken)
    {
        _staged.Clear();
        return records.ReleaseAsync(key, ownerToken, cancellationToken);
    }

    public ValueTask DisposeAsync()
    {
        _staged.Clear();
        return ValueTask.CompletedTask;
    }
}

/// <summary>A work item driven by the test: what it returns, whether it throws, whether its delivery had started.</summary>
internal sealed class ScriptedWork : IIdempotentWork<string>
{
    public int Runs { get; private set; }

    public Exception? Throw { get; set; }

    public bool DeliveryStarted { get; set; }

    public int Status { get; set; } = 200;

    public bool Transient { get; set; }

    public Exception? CodecThrows { get; set; }

    public Func<CancellationToken, Task>? During { get; set; }

    /// <summary>Gets the outcomes the engine told this work it counted, in order.</summary>
    public List<string> OutcomesRecorded { get; } = [];

    /// <summary>Gets the <see cref="System.Diagnostics.Activity.Current"/> the engine told each outcome under, in order.</summary>
    public List<System.Diagnostics.Activity?> ActivitiesAtOutcomes { get; } = [];

    /// <summary>Gets or sets what else to do when the engine tells an outcome (after <see cref="ActivitiesAtOutcomes"/>).</summary>
    public Action<string>? AtOutcome { get; set; }

    public void OnOutcomeRecorded(string outcome)
    {
        OutcomesRecorded.Add(outcome);
        ActivitiesAtOutcomes.Add(System.Diagnostics.Activity.Current);
        AtOutcome?.Invoke(outcome);
    }

    /// <summary>Gets or sets what <see cref="ComputePreviousFingerprintAsync"/> answers; none by default.</summary>
    public Func<CancellationToken, ValueTask<byte[]?>>? PreviousFingerprint { get; set; }

    public ValueTask<byte[]?> ComputePreviousFingerprintAsync(CancellationToken cancellationToken) =>
        PreviousFingerprint is null ? ValueTask.FromResult<byte[]?>(null) : PreviousFingerprint(cancellationToken);

    public async ValueTask<string> RunAsync(CancellationToken cancellationToken)
    {
        Runs++;
        if (During is not null)
        {
            await During(cancellationToken);
        }

        if (Throw is not null)
        {
            throw Throw;
        }

        return "result-" + Runs.ToString(CultureInfo.InvariantCulture);
    }

    public bool HasDeliveryStarted(out int startedStatus)
    {
        startedStatus = Status;
        return DeliveryStarted;
    }

    public IdempotencyRecordContent? CreateRecord(string outcome)
    {
        if (CodecThrows is not null)
        {
            throw CodecThrows;
        }

        return Transient ? null : IdempotencyRecordContent.FromBytes(IdempotencyRecordKind.OperationResult, System.Text.Encoding.UTF8.GetBytes(outcome));
    }
}

internal static class EngineFactory
{
    public static FakeTimeProvider Time() => new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", CultureInfo.InvariantCulture));

    public static IdempotencyEngine Create(TimeProvider time, IdempotencyEngineOptions? options = null, Microsoft.Extensions.Logging.ILoggerFactory? loggers = null, System.Diagnostics.Metrics.IMeterFactory? meters = null) =>
        new(Options.Create(options ?? new IdempotencyEngineOptions()), time, loggers, meters);

    public static IdempotencyExecutionRequest Request(IIdempotencyStore store, string key = "k-1", byte fingerprint = 1) =>
        new(store, key, "scope", IdempotencyStorageKey.Create("scope", key), Enumerable.Repeat(fingerprint, 32).ToArray());
}
