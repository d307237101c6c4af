namespace LedgerClient;

/// <summary>What the retry-storm demo sends, and how bad its network is.</summary>
public sealed class RetryStormOptions
{
    /// <summary>Gets or sets the number of deposits and withdrawals to send.</summary>
    public int Operations { get; set; } = 3000;

    /// <summary>Gets or sets the share of attempts lost before they reach the server (0 to 0.9).</summary>
    public double DropRequests { get; set; } = 0.1;

    /// <summary>Gets or sets the share of attempts whose response is lost after the server applied them (0 to 0.9).</summary>
    public double DropResponses { get; set; } = 0.1;

    /// <summary>Gets or sets the seed of the fault injector and of the amounts, so that a run can be repeated.</summary>
    public int Seed { get; set; } = 42;

    /// <summary>Gets or sets how many operations are in flight at once. 1 makes a run fully repeatable.</summary>
    public int Parallelism { get; set; } = 4;

    /// <summary>
    /// Gets or sets whether the client keeps one key per operation across its retries (the key handler, outside the
    /// resilience pipeline). Without it every attempt carries a fresh key, as a client that only satisfies the
    /// server's "key required" does: the server cannot tell a retry from a new operation.
    /// </summary>
    public bool UseKeys { get; set; } = true;

    /// <summary>Gets or sets the bearer token the demo authenticates with.</summary>
    public string Token { get; set; } = SelfHostedLedger.DemoToken;

    /// <summary>Throws when a value is out of range, with a message that names the option.</summary>
    public void Validate()
    {
        if (Operations is < 1 or > 1_000_000)
        {
            throw new ArgumentOutOfRangeException(nameof(Operations), Operations, "--operations must be between 1 and 1000000.");
        }

        if (DropRequests is < 0 or > 0.9 || DropResponses is < 0 or > 0.9 || DropRequests + DropResponses > 0.9)
        {
            throw new ArgumentOutOfRangeException(nameof(DropRequests), "--drop-requests and --drop-responses must be between 0 and 0.9, and 0.9 together at most.");
        }

        if (Parallelism is < 1 or > 64)
        {
            throw new ArgumentOutOfRangeException(nameof(Parallelism), Parallelism, "--parallel must be between 1 and 64.");
        }
    }
}
