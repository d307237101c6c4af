using Microsoft.AspNetCore.Http;

namespace Idempotency.Chaos.Tests.Ledger;

/// <summary>
/// Where the chaos ledger's effects go: process memory, an append-only journal file that survives a SIGKILL, or a
/// PostgreSQL table written in the request's idempotency transaction.
/// </summary>
internal interface ILedgerBook
{
    ValueTask ApplyAsync(HttpContext context, LedgerPosting posting, CancellationToken cancellationToken);

    /// <summary>The balance of <paramref name="account"/>, or <see langword="null"/> when this book cannot tell (the journal).</summary>
    Task<long?> BalanceAsync(string account);
}

/// <summary>How many times each operation's effect was applied, in all, and how many ran without a claimed key.</summary>
internal sealed record LedgerTally(IReadOnlyDictionary<string, int> Executions, int Total, int WithoutKey)
{
    public int Of(string operationId) => Executions.GetValueOrDefault(operationId);
}
