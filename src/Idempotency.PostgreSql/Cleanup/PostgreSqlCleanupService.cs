using Dapper;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Idempotency.PostgreSql;

/// <summary>
/// Deletes expired records on a fixed interval, in batches of <see cref="PostgreSqlIdempotencyStoreOptions.CleanupBatchSize"/>.
/// Expired records are already invisible to the store: this only reclaims space, so a failed run is logged and retried
/// on the next tick.
/// </summary>
internal sealed partial class PostgreSqlCleanupService : BackgroundService
{
    private const string Operation = "delete expired records";

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
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    var deleted = await DeleteExpiredAsync(stoppingToken);
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

    /// <summary>Deletes expired records batch after batch until a batch comes back short. Each batch is its own statement and transaction.</summary>
    /// <returns>How many records were deleted.</returns>
    internal async Task<long> DeleteExpiredAsync(CancellationToken cancellationToken)
    {
        var batchSize = _database.Options.CleanupBatchSize;
        long total = 0;
        int deleted;
        do
        {
            deleted = await DeleteExpiredBatchAsync(cancellationToken);
            total += deleted;
        }
        while (deleted == batchSize && !cancellationToken.IsCancellationRequested);

        return total;
    }

    /// <summary>Deletes at most one batch of expired records, oldest first.</summary>
    /// <returns>How many records were deleted.</returns>
    internal async Task<int> DeleteExpiredBatchAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await _database.DataSource.OpenConnectionAsync(cancellationToken);
            return await connection.ExecuteAsync(new CommandDefinition(
                _database.Sql.DeleteExpiredBatch,
                new { BatchSize = _database.Options.CleanupBatchSize },
                cancellationToken: cancellationToken));
        }
        catch (Exception ex) when (PostgreSqlStoreErrors.IsStoreFault(ex))
        {
            throw PostgreSqlStoreErrors.Wrap(ex, Operation, _database.Sql);
        }
    }
}
