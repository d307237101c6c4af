namespace BankLedger.Grpc;

// The gRPC service's own events, category BankLedger.Grpc.LedgerGrpcService: Debug only, as the JSON API's (amounts and
// account numbers are personal data). Event ids are stable; add new ones, never renumber.
public sealed partial class LedgerGrpcService
{
    [LoggerMessage(650, LogLevel.Debug, "gRPC: posted entry {Entry} of {Amount} to account {AccountId}; balance {Balance}.", EventName = "GrpcDepositPosted")]
    private static partial void LogDepositPosted(ILogger logger, long entry, long amount, long accountId, long balance);

    [LoggerMessage(651, LogLevel.Debug, "gRPC: transfer {TransferId}: {Amount} from account {From} to account {To}.", EventName = "GrpcTransferMade")]
    private static partial void LogTransferMade(ILogger logger, long transferId, long amount, long from, long to);
}
