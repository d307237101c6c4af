using Microsoft.Extensions.Logging;

namespace Idempotency.PostgreSql;

public sealed partial class PostgreSqlIdempotencyUnitOfWork
{
    [LoggerMessage(EventId = 3030, EventName = "PostgreSqlTransactionFault", Level = LogLevel.Warning,
        Message = "The PostgreSQL idempotency store could not {Operation}; nothing of the unit of work was committed, unless the commit itself failed in flight. {Fault}")]
    private partial void LogStoreFault(string operation, string fault);

    [LoggerMessage(EventId = 3034, EventName = "PostgreSqlTransactionFaultDetail", Level = LogLevel.Debug,
        Message = "The PostgreSQL idempotency store could not {Operation}.")]
    private partial void LogStoreFaultDetail(Exception exception, string operation);

    [LoggerMessage(EventId = 3031, EventName = "PostgreSqlTransactionAborted", Level = LogLevel.Error,
        Message = "The PostgreSQL idempotency transaction was aborted by an earlier database error in the operation's work; its outcome cannot be stored. Use a savepoint around statements whose errors the operation handles.")]
    private partial void LogTransactionAborted(Exception exception);

    [LoggerMessage(EventId = 3032, EventName = "PostgreSqlRollbackFailed", Level = LogLevel.Debug,
        Message = "Could not roll back the unit of work's PostgreSQL transaction; the server rolls it back when the connection closes.")]
    private partial void LogRollbackFailed(Exception exception);

    [LoggerMessage(EventId = 3033, EventName = "PostgreSqlKeyClaimedElsewhere", Level = LogLevel.Warning,
        Message = "A non-transactional caller claimed the unit of work's idempotency key while its transaction ran; the transaction was rolled back and nothing of the unit of work was committed. Do not share keys between transactional and non-transactional endpoints or handlers.")]
    private partial void LogClaimedElsewhere();

    [LoggerMessage(EventId = 3050, EventName = "PostgreSqlSessionUnlockFailed", Level = LogLevel.Warning,
        Message = "Could not {Operation} at the end of the unit of work; the server lets go of it when the connection closes, and Npgsql's pool reset when the connection is next used.")]
    private partial void LogUnlockFailed(Exception exception, string operation);

    [LoggerMessage(EventId = 3035, EventName = "PostgreSqlTransactionEndedByOperation", Level = LogLevel.Warning,
        Message = "The operation committed or rolled back the PostgreSQL idempotency unit of work's transaction itself; what it wrote before that did not commit with the key's record, and what it wrote after committed statement by statement. The record commits in a new transaction. Never end the unit's transaction in the operation.")]
    private partial void LogTransactionEndedByOperation();

    [LoggerMessage(EventId = 3036, EventName = "PostgreSqlOperationFailedAfterEndingTransaction", Level = LogLevel.Warning,
        Message = "The operation committed or rolled back the PostgreSQL idempotency unit of work's transaction itself and then failed; what it committed cannot be rolled back, so the key is not released: it completes as 'outcome unknown' and retries are told so instead of running the operation again. Never end the unit's transaction in the operation.")]
    private partial void LogOperationFailedAfterEndingTransaction();
}
