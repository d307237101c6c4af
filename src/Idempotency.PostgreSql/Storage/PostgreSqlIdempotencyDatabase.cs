using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Idempotency.PostgreSql;

/// <summary>
/// What the store, the schema initializer and the cleanup service share: the data source, the configured table and
/// its SQL.
/// </summary>
internal sealed class PostgreSqlIdempotencyDatabase(NpgsqlDataSource dataSource, bool ownsDataSource, PostgreSqlIdempotencyStoreOptions options)
    : PostgreSqlDatabase(dataSource, ownsDataSource)
{
    private const string DeleteExpiredOperation = "delete expired records";

    public PostgreSqlIdempotencyStoreOptions Options { get; } = options;

    public PostgreSqlStoreSql Sql { get; } = new(options.Schema, options.TableName, options.PrepareStatements, options.LeaseGracePeriod);

    public static PostgreSqlIdempotencyDatabase Create(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<PostgreSqlIdempotencyStoreOptions>>().Value;
        var (dataSource, owned) = options.DataSourceServiceKey is { } key
            ? Resolve(
                options.DataSource,
                options.ConnectionString,
                () => services.GetKeyedService<NpgsqlDataSource>(key),
                $"The PostgreSQL idempotency store was told to use the NpgsqlDataSource registered with the service key '{key}', and none is " +
                $"registered with that key. Register it (with Aspire: builder.AddKeyedNpgsqlDataSource(\"{key}\"); otherwise " +
                "services.AddKeyedSingleton<NpgsqlDataSource>(key, ...)), or pass a connection string to AddPostgreSqlStore(...).")
            : Resolve(
                options.DataSource,
                options.ConnectionString,
                services.GetService<NpgsqlDataSource>,
                "The PostgreSQL idempotency store has no database to use. Register the application's NpgsqlDataSource (with Aspire: " +
                "builder.AddNpgsqlDataSource(\"ledger\"); otherwise services.AddNpgsqlDataSource(connectionString)), pass a service key " +
                "for a keyed one (AddPostgreSqlStore(serviceKey: \"ledger\")), or pass a connection string or an NpgsqlDataSource to " +
                "AddPostgreSqlStore(...).");
        return new(dataSource, owned, options);
    }

    /// <summary>
    /// One cleanup pass over the table: deletes the records the store no longer needs (completed ones past their
    /// retention, in-flight ones whose lease ended more than the grace ago), batch after batch until a batch comes back
    /// short. Each batch is its own statement and transaction. The cleanup service runs it on its interval; tests run
    /// it whenever they need expired records gone.
    /// </summary>
    /// <returns>How many records were deleted.</returns>
    public async Task<long> DeleteExpiredAsync(CancellationToken cancellationToken)
    {
        var batchSize = Options.CleanupBatchSize;
        long total = 0;
        int deleted;
        do
        {
            deleted = await DeleteExpiredBatchAsync(cancellationToken).ConfigureAwait(false);
            total += deleted;
        }
        while (deleted == batchSize && !cancellationToken.IsCancellationRequested);

        return total;
    }

    /// <summary>Deletes at most one batch of the records <see cref="DeleteExpiredAsync"/> deletes, oldest first.</summary>
    /// <returns>How many records were deleted.</returns>
    public async Task<int> DeleteExpiredBatchAsync(CancellationToken cancellationToken)
    {
        try
        {
            var connection = await DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using var connectionDisposal = connection.ConfigureAwait(false);
            var command = new NpgsqlCommand(Sql.DeleteExpiredBatch, connection)
            {
                Parameters = { new NpgsqlParameter<int>("BatchSize", Options.CleanupBatchSize) },
            };
            await using var commandDisposal = command.ConfigureAwait(false);
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (PostgreSqlStoreErrors.IsStoreFault(ex))
        {
            throw PostgreSqlStoreErrors.Wrap(ex, DeleteExpiredOperation, Sql);
        }
    }
}
