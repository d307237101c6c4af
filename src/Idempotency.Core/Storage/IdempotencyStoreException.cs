namespace Idempotency;

/// <summary>
/// The idempotency store could not answer (unreachable, timed out, or out of capacity). Callers must not run the
/// protected operation unprotected when they see it.
/// </summary>
public class IdempotencyStoreException : Exception
{
    /// <summary>Initializes a new instance with a default message.</summary>
    public IdempotencyStoreException()
        : base("The idempotency store is unavailable.")
    {
    }

    /// <summary>Initializes a new instance.</summary>
    /// <param name="message">What went wrong and what to do about it.</param>
    public IdempotencyStoreException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance.</summary>
    /// <param name="message">What went wrong and what to do about it.</param>
    /// <param name="innerException">The underlying failure.</param>
    public IdempotencyStoreException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
