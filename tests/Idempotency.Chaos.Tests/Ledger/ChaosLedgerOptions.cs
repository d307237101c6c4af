namespace Idempotency.Chaos.Tests.Ledger;

/// <summary>Which idempotency store the chaos ledger runs with.</summary>
internal enum ChaosStore
{
    Memory,
    Redis,

    /// <summary>The PostgreSQL store, with the effects elsewhere (memory or the journal): two writes, like Redis.</summary>
    PostgreSql,

    /// <summary>The PostgreSQL store in transactional mode, with the effects in the same database and transaction.</summary>
    PostgreSqlTransactional,
}

/// <summary>How to run the chaos ledger: its store, where its effects live, and whether its writes require a key.</summary>
internal sealed record ChaosLedgerOptions
{
    public ChaosStore Store { get; init; } = ChaosStore.Memory;

    public string? RedisConnectionString { get; init; }

    public string? PostgreSqlConnectionString { get; init; }

    /// <summary>
    /// Gets whether the write endpoints require an <c>Idempotency-Key</c> (<c>.RequireIdempotency()</c>). Off only for
    /// the control run, which shows what the same faults do to a service without keys.
    /// </summary>
    public bool RequireKeys { get; init; } = true;

    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Gets the file the effects are appended to (survives a SIGKILL); <see langword="null"/> keeps them in memory. Not
    /// used in transactional mode, where the effects go to PostgreSQL.
    /// </summary>
    public string? JournalPath { get; init; }

    /// <summary>Gets the number of this run of the process, written with every effect so duplicates can be traced to a crash.</summary>
    public int Incarnation { get; init; } = 1;

    /// <summary>Gets the loopback port to listen on; 0 for any free one.</summary>
    public int Port { get; init; }

    /// <summary>
    /// Gets the longest pause, in milliseconds, before and after a handler applies its effect (a real handler validates,
    /// writes, then serializes): it widens the windows a fault can hit. The pause of each request is random.
    /// </summary>
    public int MaxHandlerPauseMilliseconds { get; init; } = 4;
}
