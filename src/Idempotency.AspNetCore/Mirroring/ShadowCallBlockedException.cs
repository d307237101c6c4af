namespace Idempotency.AspNetCore.Mirroring;

/// <summary>
/// Thrown by the outbound handler of <c>AddShadowPropagation()</c> for an unsafe outgoing call (POST, PUT, PATCH,
/// DELETE, ...) made while a canary handles a mirrored copy, so a copy never charges a card or sends an email.
/// </summary>
public sealed class ShadowCallBlockedException : InvalidOperationException
{
    /// <summary>Initializes a new instance of the <see cref="ShadowCallBlockedException"/> class.</summary>
    public ShadowCallBlockedException()
        : base("An unsafe outgoing call was blocked while handling a mirrored copy.")
    {
    }

    /// <summary>Initializes a new instance of the <see cref="ShadowCallBlockedException"/> class.</summary>
    /// <param name="message">The message.</param>
    public ShadowCallBlockedException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="ShadowCallBlockedException"/> class.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public ShadowCallBlockedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
