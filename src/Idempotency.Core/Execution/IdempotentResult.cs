namespace Idempotency;

/// <summary>The outcome of <see cref="IdempotentExecutor.ExecuteAsync{TResult}"/>.</summary>
/// <typeparam name="TResult">The operation's result type.</typeparam>
/// <param name="Value">The result: computed now, or the one stored by the first execution.</param>
/// <param name="IsReplay"><see langword="true"/> when the operation had already run and <paramref name="Value"/> was replayed from the store.</param>
public readonly record struct IdempotentResult<TResult>(TResult Value, bool IsReplay);
