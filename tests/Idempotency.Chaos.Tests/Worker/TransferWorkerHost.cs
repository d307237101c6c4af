using BankLedger.Queue;
using BankLedger.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Idempotency.Chaos.Tests.Worker;

/// <summary>
/// The BankLedger sample's ledger and transfer queue on a plain host (no HTTP), registered by the sample's own
/// extensions: in the test process to create the tables, open accounts and enqueue commands (worker off), and in the
/// child process that the chaos test kills (worker on, its events written to stdout).
/// </summary>
internal static class TransferWorkerHost
{
    public const string ReadyLine = "transfer-worker ready";

    public static IHost Build(string connectionString, bool worker)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Idempotency:Store"] = "postgres",
            ["ConnectionStrings:Postgres"] = connectionString,
            ["TransferQueue:Enabled"] = worker ? "true" : "false",
            ["TransferQueue:BatchSize"] = "8",

            // Short, so that the commands of a killed worker come back within the test; a batch takes milliseconds.
            ["TransferQueue:VisibilityTimeout"] = "00:00:01",
            ["TransferQueue:IdleDelay"] = "00:00:00.020",
        });
        builder.Logging.ClearProviders();
        if (worker)
        {
            builder.Logging.AddFilter(static (category, level) =>
                category == typeof(TransferQueueWorker).FullName ? level >= LogLevel.Debug : level >= LogLevel.Error);
            builder.Logging.AddProvider(new EventLineLoggerProvider());
        }

        builder.Services.AddIdempotentExecutor().AddLedgerStore(builder.Configuration);
        builder.Services.AddTransferQueue(builder.Configuration);
        return builder.Build();
    }

    /// <summary>Writes each event's name as one line to stdout, at once: a SIGKILL loses nothing that was logged.</summary>
    private sealed class EventLineLoggerProvider : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new EventLineLogger(categoryName);

        public void Dispose()
        {
        }

        private sealed class EventLineLogger(string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => NullLogger.Instance.BeginScope(state);

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (eventId.Name is { } name)
                {
                    Console.Out.WriteLine($"event {name}");
                }

                if (logLevel >= LogLevel.Warning)
                {
                    Console.Error.WriteLine($"{category} {logLevel}: {formatter(state, exception)} {exception}");
                }
            }
        }
    }
}
