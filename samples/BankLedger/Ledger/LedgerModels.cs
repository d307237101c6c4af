using Idempotency;

namespace BankLedger.Ledger;

/// <summary>An account as the API shows it. Amounts are integers in cents.</summary>
public sealed record AccountView(long Id, string Owner, long Balance, long LastEntry);

/// <summary>One line of an account's ledger.</summary>
public sealed record EntryView(long Entry, long Amount, long Balance, string? Memo = null);

/// <summary>The result of a deposit or a withdrawal.</summary>
public sealed record PostingView(long Account, long Entry, long Amount, long Balance);

/// <summary>A completed transfer.</summary>
public sealed record TransferView(long Id, long From, long To, long Amount);

/// <summary>Why a ledger operation did not happen.</summary>
public enum LedgerError
{
    /// <summary>The operation happened.</summary>
    None,

    /// <summary>The account does not exist, or belongs to another user.</summary>
    AccountNotFound,

    /// <summary>The account holds less than the amount.</summary>
    InsufficientFunds,

    /// <summary>The account's last entry is not the one the request named: it was written after a newer entry, or is a duplicate.</summary>
    LastEntryMismatch,

    /// <summary>The credit would take the account past <see cref="LedgerLimits.MaxBalance"/>: refused rather than let its balance wrap around.</summary>
    BalanceLimitExceeded,
}

/// <summary>The outcome of a ledger operation: a value, or the reason there is none.</summary>
public readonly record struct LedgerResult<T>(T? Value, LedgerError Error)
{
    public static implicit operator LedgerResult<T>(T value) => new(value, LedgerError.None);

    public static implicit operator LedgerResult<T>(LedgerError error) => new(default, error);
}

/// <summary>The outcome of <see cref="ILedger.AppendIfLastAsync"/>.</summary>
/// <param name="Error">Why nothing was appended, or <see cref="LedgerError.None"/>.</param>
/// <param name="LastEntry">The account's last entry number after the call: the new entry, or the one that stood in the way.</param>
/// <param name="Posting">The new entry, when it was appended.</param>
public sealed record EntryAppendResult(LedgerError Error, long LastEntry, PostingView? Posting)
{
    /// <summary>
    /// Gets the write as the library's HTTP helpers understand it: applied with the new entry's number, or a version
    /// conflict with the account's last entry number (meaningful unless the account was not found or funds were short).
    /// </summary>
    public ConditionalWriteResult Write => Posting is not null
        ? ConditionalWriteResult.Applied(Posting.Entry)
        : ConditionalWriteResult.VersionConflict(LastEntry);
}
