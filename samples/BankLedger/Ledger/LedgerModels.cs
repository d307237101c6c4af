namespace BankLedger.Ledger;

/// <summary>An account as the API shows it. Amounts are integers in cents.</summary>
public sealed record AccountView(long Id, string Owner, long Balance, long LastEntry);

/// <summary>One line of an account's ledger.</summary>
public sealed record EntryView(long Entry, long Amount, long Balance);

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
}

/// <summary>The outcome of a ledger operation: a value, or the reason there is none.</summary>
public readonly record struct LedgerResult<T>(T? Value, LedgerError Error)
{
    public static implicit operator LedgerResult<T>(T value) => new(value, LedgerError.None);

    public static implicit operator LedgerResult<T>(LedgerError error) => new(default, error);
}
