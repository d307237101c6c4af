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
    /// Appends entry <paramref name="expectedLastEntry"/> + 1 only if the account's last entry is
    /// <paramref name="expectedLastEntry"/>, in one atomic step: of two requests naming the same last entry (a
    /// duplicate, or two clients racing), one is appended and the other gets <see cref="LedgerError.LastEntryMismatch"/>
    /// with the account's actual last entry. Checked in this order: account, last entry, funds.
    /// </summary>
    Task<EntryAppendResult> AppendIfLastAsync(string userId, long accountId, long expectedLastEntry, long amount, string? memo, CancellationToken cancellationToken);

    /// <summary>Moves money from one of the user's accounts to any existing account.</summary>
    Task<LedgerResult<TransferView>> TransferAsync(string userId, long from, long to, long amount, CancellationToken cancellationToken);
}
