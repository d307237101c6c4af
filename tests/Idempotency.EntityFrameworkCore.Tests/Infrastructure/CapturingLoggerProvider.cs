using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Idempotency.EntityFrameworkCore.Tests.Infrastructure;

/// <summary>Keeps every log line (event name and formatted message) the app writes, for tests that read what was logged.</summary>
public sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<(string EventName, string Message)> _lines = new();

    public IReadOnlyCollection<(string EventName, string Message)> Lines => _lines;

    public ILogger CreateLogger(string categoryName) => new Logger(_lines);

    public void Dispose()
    {
    }

    private sealed class Logger(ConcurrentQueue<(string EventName, string Message)> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            lines.Enqueue((eventId.Name ?? string.Empty, formatter(state, exception)));
    }
}
