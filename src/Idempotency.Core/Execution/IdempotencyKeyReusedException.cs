namespace Idempotency;

/// <summary>The key was already used for an operation with a different payload. Use a new key for a new operation.</summary>
public sealed class IdempotencyKeyReusedException : Exception
{
    /// <summary>Initializes a new instance with a default message.</summary>
    public IdempotencyKeyReusedException()
        : base("The idempotency key was already used with a different payload. Send a new key for a new operation.")
    {
    }

    /// <summary>Initializes a new instance.</summary>
    /// <param name="message">What happened.</param>
    public IdempotencyKeyReusedException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance.</summary>
    /// <param name="message">What happened.</param>
    /// <param name="innerException">The underlying failure.</param>
    public IdempotencyKeyReusedException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
