namespace Idempotency;

/// <summary>
/// A store refused a new claim because the claim's scope (<see cref="IdempotencyClaimRequest.Scope"/>) already holds
/// its share of the store's capacity. Other scopes are unaffected; the caller may retry after <see cref="RetryAfter"/>.
/// </summary>
/// <remarks>
/// Nothing ran: the claim was refused before the operation. The ASP.NET Core middleware answers it with 429 and a
/// <c>Retry-After</c> header.
/// </remarks>
public sealed class IdempotencyScopeQuotaExceededException : IdempotencyStoreException
{
    /// <summary>Initializes a new instance with a default message and a <see cref="RetryAfter"/> of one second.</summary>
    public IdempotencyScopeQuotaExceededException()
        : this("The caller holds its full share of the idempotency store.", TimeSpan.FromSeconds(1))
    {
    }

    /// <summary>Initializes a new instance with a <see cref="RetryAfter"/> of one second.</summary>
    /// <param name="message">Which share was reached and how to raise it.</param>
    public IdempotencyScopeQuotaExceededException(string message)
        : this(message, TimeSpan.FromSeconds(1))
    {
    }

    /// <summary>Initializes a new instance with a <see cref="RetryAfter"/> of one second.</summary>
    /// <param name="message">Which share was reached and how to raise it.</param>
    /// <param name="innerException">The underlying failure.</param>
    public IdempotencyScopeQuotaExceededException(string message, Exception? innerException)
        : base(message, innerException)
    {
        RetryAfter = TimeSpan.FromSeconds(1);
    }

    /// <summary>Initializes a new instance.</summary>
    /// <param name="message">Which share was reached and how to raise it.</param>
    /// <param name="retryAfter">How long the caller should wait before it claims again; negative values are treated as zero.</param>
    public IdempotencyScopeQuotaExceededException(string message, TimeSpan retryAfter)
        : base(message)
    {
        RetryAfter = retryAfter < TimeSpan.Zero ? TimeSpan.Zero : retryAfter;
    }

    /// <summary>Gets how long the caller should wait before it claims a new key of this scope again.</summary>
    public TimeSpan RetryAfter { get; }
}
