using Microsoft.Extensions.Logging;

namespace Idempotency.PostgreSql;

internal sealed partial class PostgreSqlIdempotencyStore
{
    // The Warning carries no exception object: with IncludeErrorDetail a PostgreSQL error's detail can quote the
    // storage key (and with it the caller's scope, a user id). The description has it cut out; the whole exception is at Debug.
    [LoggerMessage(EventId = 3001, EventName = "PostgreSqlStoreFault", Level = LogLevel.Warning,
        Message = "The PostgreSQL idempotency store could not {Operation}. {Fault}")]
    private partial void LogStoreFault(string operation, string fault);

    [LoggerMessage(EventId = 3003, EventName = "PostgreSqlCompletionSentAgain", Level = LogLevel.Information,
        Message = "An idempotency completion lost the server (a restart, a fail-over, a broken connection); it is sent again until the claim's lease ends. {Fault}")]
    private partial void LogCompletionSentAgain(string fault);

    [LoggerMessage(EventId = 3002, EventName = "PostgreSqlStoreFaultDetail", Level = LogLevel.Debug,
        Message = "The PostgreSQL idempotency store could not {Operation}.")]
    private partial void LogStoreFaultDetail(Exception exception, string operation);
}
