namespace Idempotency;

/// <summary>The outcome of <see cref="IdempotentExecutor.ExecuteAsync{TResult}"/>.</summary>
/// <typeparam name="TResult">The operation's result type.</typeparam>
/// <param name="Value">The result: computed now, or the one stored by the first execution.</param>
/// <param name="IsReplay"><see langword="true"/> when the operation had already run and <paramref name="Value"/> was replayed from the store.</param>
public readonly record struct IdempotentResult<TResult>(TResult Value, bool IsReplay);

/// <summary>The outcome of <see cref="IdempotentExecutor.ExecuteAsync(IdempotentOperation, Func{CancellationToken, Task}, CancellationToken)"/>, for operations without a result.</summary>
/// <param name="IsReplay"><see langword="true"/> when the operation had already run, so it did not run again.</param>
public readonly record struct IdempotentResult(bool IsReplay);
