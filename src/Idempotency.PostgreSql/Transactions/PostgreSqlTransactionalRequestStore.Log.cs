using Microsoft.Extensions.Logging;

namespace Idempotency.PostgreSql;

internal sealed partial class PostgreSqlTransactionalRequestStore
{
    [LoggerMessage(EventId = 3030, EventName = "PostgreSqlTransactionFault", Level = LogLevel.Warning,
        Message = "The PostgreSQL idempotency store could not {Operation}; nothing of the request was committed, unless the commit itself failed in flight. {Fault}")]
    private partial void LogStoreFault(string operation, string fault);

    [LoggerMessage(EventId = 3034, EventName = "PostgreSqlTransactionFaultDetail", Level = LogLevel.Debug,
        Message = "The PostgreSQL idempotency store could not {Operation}.")]
    private partial void LogStoreFaultDetail(Exception exception, string operation);

    [LoggerMessage(EventId = 3031, EventName = "PostgreSqlTransactionAborted", Level = LogLevel.Error,
        Message = "The handler's PostgreSQL transaction was aborted by an earlier database error; its response cannot be stored. Use a savepoint around statements whose errors the handler handles.")]
    private partial void LogTransactionAborted(Exception exception);

    [LoggerMessage(EventId = 3032, EventName = "PostgreSqlRollbackFailed", Level = LogLevel.Debug,
        Message = "Could not roll back the request's PostgreSQL transaction; the server rolls it back when the connection closes.")]
    private partial void LogRollbackFailed(Exception exception);

    [LoggerMessage(EventId = 3033, EventName = "PostgreSqlKeyClaimedElsewhere", Level = LogLevel.Warning,
        Message = "A non-transactional endpoint claimed the request's idempotency key while the request's transaction ran; the transaction was rolled back and nothing of the request was committed. Do not share keys between transactional and non-transactional endpoints.")]
    private partial void LogClaimedElsewhere();

    [LoggerMessage(EventId = 3050, EventName = "PostgreSqlSessionUnlockFailed", Level = LogLevel.Warning,
        Message = "Could not {Operation} after the request; the server lets go of it when the connection closes, and Npgsql's pool reset when the connection is next used.")]
    private partial void LogUnlockFailed(Exception exception, string operation);
}
