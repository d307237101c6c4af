using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Idempotency;

/// <summary>
/// Warns once, when the host starts, that the in-memory store is the store outside the Development environment: it
/// deduplicates only the retries that reach this process, so a service with several instances is not protected.
/// </summary>
/// <remarks>
/// The store is resolved here (it is a singleton, so this only creates it earlier) because only the final registration
/// says which store won. Without an <see cref="IHostEnvironment"/> there is no environment to judge, and nothing is logged.
/// </remarks>
internal sealed partial class InMemoryStoreEnvironmentWarning(
    IServiceProvider services,
    IOptions<InMemoryIdempotencyStoreOptions> options,
    ILogger<InMemoryStoreEnvironmentWarning>? logger = null,
    IHostEnvironment? environment = null) : IHostedService
{
    private readonly ILogger _logger = logger ?? (ILogger)NullLogger.Instance;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.WarnOutsideDevelopment || environment is null || environment.IsDevelopment())
        {
            return Task.CompletedTask;
        }

        // In a scope: a store of another package may be registered scoped.
        using var scope = services.CreateScope();
        if (scope.ServiceProvider.GetService<IIdempotencyStore>() is InMemoryIdempotencyStore)
        {
            LogInMemoryStoreOutsideDevelopment(environment.EnvironmentName);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 500, EventName = "InMemoryStoreOutsideDevelopment", Level = LogLevel.Warning,
        Message = "The idempotency store is the in-memory store in the {EnvironmentName} environment. It deduplicates only the retries " +
            "that reach this process and forgets every record on restart: with more than one instance, a retry that reaches another " +
            "instance runs its operation again. Use the Redis or PostgreSQL store (AddRedisStore, AddPostgreSqlStore), or set " +
            "InMemoryIdempotencyStoreOptions.WarnOutsideDevelopment to false for a service that runs a single instance.")]
    private partial void LogInMemoryStoreOutsideDevelopment(string environmentName);
}
