using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Idempotency.PostgreSql;

/// <summary>
/// Deletes expired records on a fixed interval, in batches of <see cref="PostgreSqlIdempotencyStoreOptions.CleanupBatchSize"/>:
/// completed records past their retention, and in-flight records whose lease ended more than
/// <see cref="PostgreSqlIdempotencyStoreOptions.LeaseGracePeriod"/> ago (until then their owner may still complete them).
/// Those records are already invisible to the store: this only reclaims space, so a failed run is logged and retried
/// on the next tick.
/// </summary>
internal sealed partial class PostgreSqlCleanupService : BackgroundService
{
    private readonly PostgreSqlIdempotencyDatabase _database;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private PeriodicTimer? _timer;

    public PostgreSqlCleanupService(PostgreSqlIdempotencyDatabase database, TimeProvider timeProvider, ILogger<PostgreSqlCleanupService> logger)
    {
        _database = database;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        // The interval counts from start-up, not from whenever ExecuteAsync gets a thread.
        if (_database.Options.EnableCleanup)
        {
            _timer = new PeriodicTimer(_database.Options.CleanupInterval, _timeProvider);
        }

        return base.StartAsync(cancellationToken);
    }

    public override void Dispose()
    {
        _timer?.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_timer is not { } timer)
        {
            return;
        }

        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    var deleted = await DeleteExpiredAsync(stoppingToken).ConfigureAwait(false);
                    LogCleanupCompleted(deleted, _database.Sql.QualifiedTableName);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    // Best effort: an exception escaping ExecuteAsync would stop the whole host.
                    LogCleanupFailed(ex, _database.Sql.QualifiedTableName);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The host is stopping.
        }
    }

    /// <summary>One cleanup pass (see <see cref="PostgreSqlIdempotencyDatabase.DeleteExpiredAsync"/>).</summary>
    /// <returns>How many records were deleted.</returns>
    internal Task<long> DeleteExpiredAsync(CancellationToken cancellationToken) => _database.DeleteExpiredAsync(cancellationToken);

    /// <summary>One batch of a cleanup pass (see <see cref="PostgreSqlIdempotencyDatabase.DeleteExpiredBatchAsync"/>).</summary>
    /// <returns>How many records were deleted.</returns>
    internal Task<int> DeleteExpiredBatchAsync(CancellationToken cancellationToken) => _database.DeleteExpiredBatchAsync(cancellationToken);
}
