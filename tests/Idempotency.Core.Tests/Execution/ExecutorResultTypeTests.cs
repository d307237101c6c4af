using System.Globalization;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Idempotency.Core.Tests.Execution;

[JsonSerializable(typeof(int))]
[JsonSerializable(typeof(string[]))]
public sealed partial class OtherResultJsonContext : JsonSerializerContext;

/// <summary>
/// A key whose record was written by an operation with another result type (ExecuteAsync without a result, or with
/// another TResult): a fan-out consumer that shares its scope with another one, or a handler whose result type changed.
/// Its redelivery must neither run the operation nor hand back a System.Text.Json exception (or a value made up from
/// another type's JSON); it gets one documented exception that says what happened, without the key or the scope.
/// </summary>
public sealed class ExecutorResultTypeTests
{
    private const string Scope = "user-4711";
    private const string Key = "order-8812-alice@example.com";

    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", CultureInfo.InvariantCulture));
    private readonly IdempotentExecutor _executor;
    private int _executions;

    public ExecutorResultTypeTests()
    {
        _executor = new IdempotentExecutor(
            new IdempotencyEngine(Options.Create(new IdempotencyEngineOptions()), _time),
            new InMemoryIdempotencyStore(Options.Create(new InMemoryIdempotencyStoreOptions()), _time),
            Options.Create(new IdempotentExecutorOptions()));
    }

    private static IdempotentOperation Message => new(Key, "debit 100"u8.ToArray(), Scope);

    [Fact]
    public async Task RecordWithoutAResult_ReplayedByATypedCall_ThrowsResultMismatch_WithoutRunning()
    {
        await _executor.ExecuteAsync(Message, ct => { _executions++; return Task.CompletedTask; });

        var error = await Assert.ThrowsAsync<IdempotentOperationResultMismatchException>(() =>
            _executor.ExecuteAsync(Message, ChargeAsync, ReceiptJsonContext.Default.Receipt).AsTask());

        Assert.Equal(1, _executions);
        Assert.Contains("without a result", error.Message, StringComparison.Ordinal);
        Assert.Contains("Receipt", error.Message, StringComparison.Ordinal);
        AssertSaysWhatToDo_WithoutTheKey(error);
    }

    [Fact]
    public async Task RecordWithAResult_ReplayedByACallWithoutAResult_ThrowsResultMismatch_WithoutRunning()
    {
        await _executor.ExecuteAsync(Message, ChargeAsync, ReceiptJsonContext.Default.Receipt);

        var error = await Assert.ThrowsAsync<IdempotentOperationResultMismatchException>(() =>
            _executor.ExecuteAsync(Message, ct => { _executions++; return Task.CompletedTask; }).AsTask());

        Assert.Equal(1, _executions);
        Assert.Contains("with a result", error.Message, StringComparison.Ordinal);
        AssertSaysWhatToDo_WithoutTheKey(error);
    }

    [Fact]
    public async Task RecordOfAnObject_ReplayedAsANumber_ThrowsResultMismatch_WithoutRunning()
    {
        await _executor.ExecuteAsync(Message, ChargeAsync, ReceiptJsonContext.Default.Receipt);

        var error = await Assert.ThrowsAsync<IdempotentOperationResultMismatchException>(() =>
            _executor.ExecuteAsync(Message, ct => { _executions++; return ValueTask.FromResult(7); }, OtherResultJsonContext.Default.Int32).AsTask());

        Assert.Equal(1, _executions);
        Assert.Contains("Int32", error.Message, StringComparison.Ordinal);
        Assert.Contains("a JSON object", error.Message, StringComparison.Ordinal);
        AssertSaysWhatToDo_WithoutTheKey(error);
    }

    [Fact]
    public async Task RecordOfAnArray_ReplayedAsAnObject_ThrowsResultMismatch_WithoutRunning()
    {
        string[] names = ["alice@example.com"];
        await _executor.ExecuteAsync(Message, ct => { _executions++; return ValueTask.FromResult(names); }, OtherResultJsonContext.Default.StringArray);

        var error = await Assert.ThrowsAsync<IdempotentOperationResultMismatchException>(() =>
            _executor.ExecuteAsync(Message, ChargeAsync, ReceiptJsonContext.Default.Receipt).AsTask());

        Assert.Equal(1, _executions);
        Assert.Contains("a JSON array", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("alice", error.ToString(), StringComparison.Ordinal); // neither the key nor the stored result
        AssertSaysWhatToDo_WithoutTheKey(error);
    }

    // The same result type still replays, and a call without a result still replays one without a result.
    [Fact]
    public async Task SameResultType_StillReplays()
    {
        var first = await _executor.ExecuteAsync(Message, ChargeAsync, ReceiptJsonContext.Default.Receipt);
        var second = await _executor.ExecuteAsync(Message, ChargeAsync, ReceiptJsonContext.Default.Receipt);
        var other = new IdempotentOperation("other", "a"u8.ToArray(), Scope);
        await _executor.ExecuteAsync(other, ct => { _executions++; return Task.CompletedTask; });
        var otherAgain = await _executor.ExecuteAsync(other, ct => { _executions++; return Task.CompletedTask; });

        Assert.True(second.IsReplay);
        Assert.Equal(first.Value, second.Value);
        Assert.True(otherAgain.IsReplay);
        Assert.Equal(2, _executions);
    }

    private static void AssertSaysWhatToDo_WithoutTheKey(Exception error)
    {
        Assert.Contains("different result type", error.Message, StringComparison.Ordinal);
        Assert.Contains("scope", error.Message, StringComparison.Ordinal); // what to do: a scope of its own
        Assert.Contains("did not run", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Key, error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Scope, error.ToString(), StringComparison.Ordinal);
        Assert.Null(error.InnerException);
    }

    private ValueTask<Receipt> ChargeAsync(CancellationToken cancellationToken)
    {
        _executions++;
        return ValueTask.FromResult(new Receipt("r-" + _executions.ToString(CultureInfo.InvariantCulture), 100));
    }
}
