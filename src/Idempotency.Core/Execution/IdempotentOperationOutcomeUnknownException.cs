namespace Idempotency;

/// <summary>
/// The operation already ran under this key, but its result could not be recorded (it could not be serialized), so
/// it is neither replayed nor run again. Use a new key to run the operation anew.
/// </summary>
public sealed class IdempotentOperationOutcomeUnknownException : Exception
{
    /// <summary>Initializes a new instance with a default message.</summary>
    public IdempotentOperationOutcomeUnknownException()
        : base("The operation already ran under this idempotency key, but its result could not be recorded, so it is neither replayed nor run again. Use a new key to run it anew.")
    {
    }

    /// <summary>Initializes a new instance.</summary>
    /// <param name="message">What happened.</param>
    public IdempotentOperationOutcomeUnknownException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance.</summary>
    /// <param name="message">What happened.</param>
    /// <param name="innerException">The underlying failure.</param>
    public IdempotentOperationOutcomeUnknownException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
