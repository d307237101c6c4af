namespace BankLedger.Ledger;

/// <summary>
/// The bank's books. Every account belongs to the user who opened it; operations on another user's account answer
/// <see cref="LedgerError.AccountNotFound"/>, exactly as for an account that does not exist.
/// </summary>
public interface ILedger
{
    Task<AccountView> OpenAccountAsync(string userId, string owner, CancellationToken cancellationToken);

    Task<AccountView?> GetAccountAsync(string userId, long accountId, CancellationToken cancellationToken);

    Task<IReadOnlyList<EntryView>?> GetEntriesAsync(string userId, long accountId, CancellationToken cancellationToken);

    /// <summary>Adds <paramref name="amount"/> (positive for a deposit, negative for a withdrawal) as the account's next entry.</summary>
    Task<LedgerResult<PostingView>> PostAsync(string userId, long accountId, long amount, CancellationToken cancellationToken);

    /// <summary>
    /// Appends <paramref name="amount"/> after the account's last entry only if <paramref name="lastEntryMatches"/>
    /// accepts that entry's number, in one atomic step: the condition is evaluated against the very entry the new one
    /// follows, so of two requests whose condition names the same last entry (a duplicate, or two clients racing), one
    /// is appended and the other gets <see cref="LedgerError.LastEntryMismatch"/> with the account's actual last entry.
    /// Checked in this order: account, condition, funds.
    /// </summary>
    /// <param name="userId">The user the account must belong to.</param>
    /// <param name="accountId">The account.</param>
    /// <param name="lastEntryMatches">
    /// The condition on the last entry number (0 for an account without entries), such as the request's If-Match
    /// evaluated against that entry's ETag. It may run more than once (after losing a race to another writer) and,
    /// in memory, under the ledger's lock: keep it quick and free of side effects.
    /// </param>
    /// <param name="amount">The amount in cents, negative for a withdrawal.</param>
    /// <param name="memo">The entry's memo.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The new entry, or why there is none.</returns>
    Task<EntryAppendResult> AppendIfAsync(string userId, long accountId, Func<long, bool> lastEntryMatches, long amount, string? memo, CancellationToken cancellationToken);

    /// <summary>
    /// Appends entry <paramref name="expectedLastEntry"/> + 1 only if the account's last entry is
    /// <paramref name="expectedLastEntry"/>: <see cref="AppendIfAsync"/> with the condition "the last entry is this one".
    /// </summary>
    Task<EntryAppendResult> AppendIfLastAsync(string userId, long accountId, long expectedLastEntry, long amount, string? memo, CancellationToken cancellationToken) =>
        AppendIfAsync(userId, accountId, last => last == expectedLastEntry, amount, memo, cancellationToken);

    /// <summary>Moves money from one of the user's accounts to any existing account.</summary>
    Task<LedgerResult<TransferView>> TransferAsync(string userId, long from, long to, long amount, CancellationToken cancellationToken);
}
