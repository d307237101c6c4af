namespace BankLedger.Endpoints;

// The sample's own events, category BankLedger.Ledger.ILedger. Owner names, amounts, balances and account numbers are
// personal data: Debug only, so a log aggregator collecting Information and above never receives them (the library's
// own events record each request's outcome). Event ids are stable; add new ones, never renumber.
public static partial class LedgerEndpoints
{
    [LoggerMessage(1001, LogLevel.Debug, "Opened account {AccountId} for {Owner}.", EventName = "AccountOpened")]
    private static partial void LogAccountOpened(ILogger logger, long accountId, string owner);

    [LoggerMessage(1002, LogLevel.Debug, "Posted entry {Entry} of {Amount} to account {AccountId}; balance {Balance}.", EventName = "EntryPosted")]
    private static partial void LogEntryPosted(ILogger logger, long entry, long amount, long accountId, long balance);

    [LoggerMessage(1003, LogLevel.Debug, "Refused a withdrawal of {Amount} from account {AccountId}: insufficient funds.", EventName = "WithdrawalRefused")]
    private static partial void LogWithdrawalRefused(ILogger logger, long amount, long accountId);

    [LoggerMessage(1004, LogLevel.Debug, "Transfer {TransferId}: {Amount} from account {From} to account {To}.", EventName = "TransferMade")]
    private static partial void LogTransferMade(ILogger logger, long transferId, long amount, long from, long to);

    [LoggerMessage(1005, LogLevel.Debug, "Appended entry {Entry} of {Amount} to account {AccountId}.", EventName = "EntryAppended")]
    private static partial void LogEntryAppended(ILogger logger, long entry, long amount, long accountId);

    [LoggerMessage(1006, LogLevel.Debug, "Refused an entry on account {AccountId} with 412: its preconditions do not hold while entry {LastEntry} is the last.", EventName = "EntryRefused")]
    private static partial void LogEntryRefused(ILogger logger, long accountId, long lastEntry);
}
