namespace Idempotency;

/// <summary>
/// A bounded store refused a new claim because it holds its configured maximum of records or bytes. Live records
/// are never evicted to make room: evicting one could let its operation run twice.
/// </summary>
public sealed class IdempotencyStoreCapacityExceededException : IdempotencyStoreException
{
    /// <summary>Initializes a new instance with a default message.</summary>
    public IdempotencyStoreCapacityExceededException()
        : base("The idempotency store is full.")
    {
    }

    /// <summary>Initializes a new instance.</summary>
    /// <param name="message">What limit was reached and how to raise it.</param>
    public IdempotencyStoreCapacityExceededException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance.</summary>
    /// <param name="message">What limit was reached and how to raise it.</param>
    /// <param name="innerException">The underlying failure.</param>
    public IdempotencyStoreCapacityExceededException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
