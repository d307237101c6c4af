namespace Idempotency;

/// <summary>
/// The key's record holds the result of an operation with a different result type (recorded by
/// <see cref="IdempotentExecutor.ExecuteAsync{TResult}"/> with another <c>TResult</c>, or by the overload without a
/// result, or the other way round), so this call neither replays it nor runs its own operation. Two operations
/// share a key, scope and payload: give each its own scope.
/// </summary>
/// <remarks>
/// The message never holds the key, the scope or the stored result. Every redelivery of the same message gets the
/// same answer until the record's retention ends: dead-letter it.
/// </remarks>
public sealed class IdempotentOperationResultMismatchException : Exception
{
    /// <summary>Initializes a new instance with a default message.</summary>
    public IdempotentOperationResultMismatchException()
        : base("The idempotency key was already executed by an operation with a different result type, so this call did not run its operation and has no result to replay. Give each operation that handles the same message its own scope, and dead-letter this message.")
    {
    }

    /// <summary>Initializes a new instance.</summary>
    /// <param name="message">What happened.</param>
    public IdempotentOperationResultMismatchException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance.</summary>
    /// <param name="message">What happened.</param>
    /// <param name="innerException">The underlying failure.</param>
    public IdempotentOperationResultMismatchException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
