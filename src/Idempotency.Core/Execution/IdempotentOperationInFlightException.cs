namespace Idempotency;

/// <summary>
/// Another execution of the same operation holds the key and has not finished. Retry after
/// <see cref="RetryAfter"/>: by then it has completed (and its result is replayed) or its lease has expired.
/// </summary>
public sealed class IdempotentOperationInFlightException : Exception
{
    /// <summary>Initializes a new instance with a default message.</summary>
    public IdempotentOperationInFlightException()
        : this(TimeSpan.Zero)
    {
    }

    /// <summary>Initializes a new instance.</summary>
    /// <param name="retryAfter">How long until the other execution's lease ends.</param>
    public IdempotentOperationInFlightException(TimeSpan retryAfter)
        : base($"Another execution with the same idempotency key is in progress; its lease ends in {retryAfter.TotalSeconds:0.###} s. Retry later.")
    {
        RetryAfter = retryAfter;
    }

    /// <summary>Initializes a new instance.</summary>
    /// <param name="message">What happened.</param>
    public IdempotentOperationInFlightException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance.</summary>
    /// <param name="message">What happened.</param>
    /// <param name="innerException">The underlying failure.</param>
    public IdempotentOperationInFlightException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Gets how long until the other execution's lease ends.</summary>
    public TimeSpan RetryAfter { get; }
}
