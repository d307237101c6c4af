namespace Idempotency.Chaos.Tests.Ledger;

/// <summary>Where the chaos ledger's effects go: process memory (inspected by the test) or an append-only journal file.</summary>
internal interface ILedgerBook
{
    ValueTask ApplyAsync(LedgerPosting posting, CancellationToken cancellationToken);

    /// <summary>The balance of <paramref name="account"/>, or <see langword="null"/> when this book cannot tell (the journal).</summary>
    long? Balance(string account);
}
