using Microsoft.Extensions.Logging;

namespace Idempotency.EntityFrameworkCore;

public sealed partial class EntityFrameworkCoreIdempotencyUnitOfWork
{
    [LoggerMessage(EventId = 3200, EventName = "EfCoreTransactionFault", Level = LogLevel.Warning,
        Message = "The EF Core idempotency unit of work could not {Operation}; nothing of it was committed, unless the commit itself failed in flight. {Fault}")]
    private partial void LogStoreFault(string operation, string fault);

    [LoggerMessage(EventId = 3201, EventName = "EfCoreTransactionFaultDetail", Level = LogLevel.Debug,
        Message = "The EF Core idempotency unit of work could not {Operation}.")]
    private partial void LogStoreFaultDetail(Exception exception, string operation);

    [LoggerMessage(EventId = 3202, EventName = "EfCoreRollbackFailed", Level = LogLevel.Debug,
        Message = "Could not roll back the EF Core idempotency unit of work's transaction; the server rolls it back when the connection closes.")]
    private partial void LogRollbackFailed(Exception exception);

    [LoggerMessage(EventId = 3203, EventName = "EfCoreKeyClaimedElsewhere", Level = LogLevel.Warning,
        Message = "A non-transactional caller claimed the unit of work's idempotency key while its transaction ran; the transaction was rolled back and nothing of the unit of work was committed. Do not share keys between transactional and non-transactional endpoints or handlers.")]
    private partial void LogClaimedElsewhere();

    [LoggerMessage(EventId = 3204, EventName = "EfCoreSaveChangesFailed", Level = LogLevel.Warning,
        Message = "SaveChanges failed while the EF Core idempotency unit of work completed; everything was rolled back and the operation may be retried. {Fault}")]
    private partial void LogSaveChangesFailed(string fault);

    [LoggerMessage(EventId = 3205, EventName = "EfCoreTransactionEndedByOperation", Level = LogLevel.Warning,
        Message = "The operation committed or rolled back the EF Core idempotency unit of work's transaction itself; what it saved before that did not commit with the key's record, and the key was unlocked from then on. The rest and the record commit in a new transaction. Never end the context's transaction in the operation.")]
    private partial void LogTransactionEndedByOperation();

    [LoggerMessage(EventId = 3206, EventName = "EfCoreOperationFailedAfterEndingTransaction", Level = LogLevel.Warning,
        Message = "The operation committed or rolled back the EF Core idempotency unit of work's transaction itself and then failed; what it committed cannot be rolled back, so the key is not released: it completes as 'outcome unknown' and retries are told so instead of running the operation again. Never end the context's transaction in the operation.")]
    private partial void LogOperationFailedAfterEndingTransaction();
}
