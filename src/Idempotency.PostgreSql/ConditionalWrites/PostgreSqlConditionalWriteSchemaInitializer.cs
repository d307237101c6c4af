using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Idempotency.PostgreSql;

/// <summary>
/// Creates the conditional-write tables at start-up when <see cref="PostgreSqlConditionalWriteOptions.CreateSchemaOnStartup"/>
/// is on. Instances starting together take turns through an advisory lock: concurrent <c>CREATE TABLE IF NOT EXISTS</c>
/// statements can otherwise fail on PostgreSQL's catalog unique indexes.
/// </summary>
internal sealed partial class PostgreSqlConditionalWriteSchemaInitializer(PostgreSqlConditionalWriteDatabase database, ILogger<PostgreSqlConditionalWriteSchemaInitializer> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!database.Options.CreateSchemaOnStartup)
        {
            return;
        }

        var sql = database.Sql;
        try
        {
            await CreateSchemaAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (PostgreSqlStoreErrors.IsStoreFault(ex))
        {
            LogSchemaCreationFailed(ex, sql.RecordsTable, sql.StreamEntriesTable);
            throw new IdempotencyStoreException(
                $"Could not create the PostgreSQL conditional-write tables {sql.RecordsTable} and {sql.StreamEntriesTable} at start-up: {ex.Message.TrimEnd('.')}. " +
                "Check that the database is reachable and that its user may create tables, or create them with the conditional-writes.sql script " +
                "shipped in the Idempotency.PostgreSql package and turn CreateSchemaOnStartup off.",
                ex);
        }

        LogSchemaEnsured(sql.RecordsTable, sql.StreamEntriesTable);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    internal Task CreateSchemaAsync(CancellationToken cancellationToken) => database.RunSchemaScriptAsync(
        "Idempotency.PostgreSql conditional-write schema",
        database.Sql.RecordsTable + " " + database.Sql.StreamEntriesTable,
        PostgreSqlConditionalWriteSchemaScript.For(database.Options),
        cancellationToken);
}
