using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Idempotency.AspNetCore.Preconditions;

// Event ids are stable: dashboards and alerts depend on them. Add new ones; never renumber.
internal sealed partial class PreconditionMiddleware
{
    [LoggerMessage(101, LogLevel.Debug, "{Method} {Path} refused with 428: the endpoint requires If-Match or If-None-Match and neither was sent.", EventName = "PreconditionMissing")]
    private static partial void LogPreconditionMissing(ILogger logger, string method, PathString path);

    [LoggerMessage(102, LogLevel.Debug, "{Method} {Path} refused with 400: its {HeaderName} header is not a valid list of entity tags.", EventName = "PreconditionMalformed")]
    private static partial void LogPreconditionMalformed(ILogger logger, string method, PathString path, string headerName);
}
