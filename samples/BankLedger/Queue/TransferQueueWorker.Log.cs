using BankLedger.Ledger;

namespace BankLedger.Queue;

// EventIds 700-749. Message ids are the producer's keys: logged at Debug only.
public sealed partial class TransferQueueWorker
{
    [LoggerMessage(EventId = 700, EventName = "TransferQueueWorkerStarted", Level = LogLevel.Information,
        Message = "The transfer queue worker started: batches of {BatchSize}, visibility timeout {VisibilityTimeout}.")]
    private partial void LogStarted(int batchSize, TimeSpan visibilityTimeout);

    [LoggerMessage(EventId = 701, EventName = "TransferBatchTaken", Level = LogLevel.Debug,
        Message = "Took {Count} transfer commands, {Redelivered} of them redelivered.")]
    private partial void LogBatchTaken(int count, int redelivered);

    [LoggerMessage(EventId = 702, EventName = "TransferBatchDone", Level = LogLevel.Debug, Message = "Handled a batch of {Count} transfer commands.")]
    private partial void LogBatchDone(int count);

    [LoggerMessage(EventId = 703, EventName = "TransferCommandRedelivered", Level = LogLevel.Debug,
        Message = "Transfer command {MessageId} is delivered again (delivery {Attempt}).")]
    private partial void LogRedelivered(string messageId, int attempt);

    [LoggerMessage(EventId = 704, EventName = "TransferCommandApplied", Level = LogLevel.Debug,
        Message = "Transfer command {MessageId} applied (ledger: {Error}); its record and its acknowledgement committed with it.")]
    private partial void LogApplied(string messageId, LedgerError error);

    [LoggerMessage(EventId = 705, EventName = "TransferCommandReplayed", Level = LogLevel.Debug,
        Message = "Transfer command {MessageId} was applied before: acknowledged without running again.")]
    private partial void LogReplayed(string messageId);

    [LoggerMessage(EventId = 706, EventName = "TransferCommandInFlight", Level = LogLevel.Debug,
        Message = "Transfer command {MessageId} is being applied by another delivery: deferred.")]
    private partial void LogInFlight(string messageId);

    [LoggerMessage(EventId = 707, EventName = "TransferCommandDeadLettered", Level = LogLevel.Warning,
        Message = "Queue row {RowId} moved to bank_transfer_dead_letters: {Reason}")]
    private partial void LogDeadLettered(long rowId, string reason);

    [LoggerMessage(EventId = 708, EventName = "TransferCommandFailed", Level = LogLevel.Warning,
        Message = "Queue row {RowId} failed on delivery {Attempt}; nothing of it committed, and it is redelivered after its visibility timeout.")]
    private partial void LogCommandFailed(Exception exception, long rowId, int attempt);

    [LoggerMessage(EventId = 709, EventName = "TransferQueueTakeFailed", Level = LogLevel.Warning,
        Message = "Could not take transfer commands from the queue; trying again shortly.")]
    private partial void LogTakeFailed(Exception exception);
}
