using System.ComponentModel.DataAnnotations;

namespace BankLedger.Queue;

/// <summary>The transfer queue worker's settings (section <c>TransferQueue</c>), validated at start-up.</summary>
public sealed class TransferQueueOptions
{
    public const string Section = "TransferQueue";

    /// <summary>Gets or sets whether this instance runs the worker (it needs <c>Idempotency:Store=postgres</c>).</summary>
    /// <value>The default is <see langword="false"/>.</value>
    public bool Enabled { get; set; }

    /// <summary>Gets or sets how many commands one take reserves.</summary>
    /// <value>The default is 16.</value>
    [Range(1, 1_000)]
    public int BatchSize { get; set; } = 16;

    /// <summary>
    /// Gets or sets how long a taken command stays invisible to other takes. A worker that dies (or stalls) past it has
    /// its commands redelivered; keep it well above the time a batch takes.
    /// </summary>
    /// <value>The default is 30 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:00.100", "1.00:00:00")]
    public TimeSpan VisibilityTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Gets or sets how long the worker waits before looking again when the queue had nothing visible.</summary>
    /// <value>The default is 1 second.</value>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:10:00")]
    public TimeSpan IdleDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Gets or sets after how many deliveries a command that still fails is moved to <c>bank_transfer_dead_letters</c>
    /// instead of being tried again.
    /// </summary>
    /// <value>The default is 10.</value>
    [Range(1, 1_000)]
    public int MaxAttempts { get; set; } = 10;
}
