namespace Idempotency;

/// <summary>Options of <see cref="IdempotentExecutor"/>.</summary>
public sealed class IdempotentExecutorOptions
{
    /// <summary>
    /// Gets or sets how long a claim protects a key while its operation runs. An operation that outlives its lease
    /// can be started again by another delivery of the same key.
    /// </summary>
    /// <value>The default is 1 minute.</value>
    [TimeSpanRange("00:00:00.001", "1.00:00:00")]
    public TimeSpan LeaseDuration { get; set; } = IdempotencyDefaults.LeaseDuration;

    /// <summary>Gets or sets how long a completed result is kept and replayed.</summary>
    /// <value>The default is 24 hours.</value>
    [TimeSpanRange("00:00:01", "365.00:00:00")]
    public TimeSpan Retention { get; set; } = IdempotencyDefaults.Retention;
}
