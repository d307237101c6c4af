namespace BankLedger.Storage;

/// <summary>Where the sample keeps its idempotency keys and its ledger (<c>Idempotency:Store</c>).</summary>
public enum LedgerStoreMode
{
    /// <summary>Keys and ledger in process memory: the one-command demo, one instance.</summary>
    Memory,

    /// <summary>Keys in Redis (<c>ConnectionStrings:Redis</c>), shared by every instance; each instance still keeps its own ledger in memory.</summary>
    Redis,

    /// <summary>
    /// Keys and ledger in PostgreSQL (<c>ConnectionStrings:Postgres</c>): keyed writes run in the transactional mode, so
    /// the ledger write, the key and the stored response commit together, however many instances share the database.
    /// </summary>
    Postgres,

    /// <summary>
    /// As <see cref="Postgres"/>, with the ledger on EF Core (<see cref="Ledger.EfCore.LedgerDbContext"/>, same tables): keyed
    /// writes run in the EF Core transactional mode, so the entity changes, the key and the stored response commit together.
    /// </summary>
    EfCore,
}

/// <summary>The store mode the sample runs in, for the endpoints that depend on it.</summary>
/// <param name="Mode">The configured mode.</param>
public sealed record LedgerStorage(LedgerStoreMode Mode)
{
    /// <summary>Gets whether keyed writes run in a transactional mode (PostgreSQL, or EF Core).</summary>
    public bool Transactional => Mode is LedgerStoreMode.Postgres or LedgerStoreMode.EfCore;
}
