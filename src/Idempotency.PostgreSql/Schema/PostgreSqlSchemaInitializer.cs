using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Idempotency.PostgreSql;

/// <summary>
/// Creates the records table at start-up when <see cref="PostgreSqlIdempotencyStoreOptions.CreateSchemaOnStartup"/> is
/// on. Instances starting together take turns through an advisory lock: concurrent <c>CREATE TABLE IF NOT EXISTS</c>
/// statements can otherwise fail on PostgreSQL's catalog unique indexes.
/// </summary>
internal sealed partial class PostgreSqlSchemaInitializer(PostgreSqlIdempotencyDatabase database, ILogger<PostgreSqlSchemaInitializer> logger) : IHostedService
{
    private const string Operation = "create its schema";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!database.Options.CreateSchemaOnStartup)
        {
            return;
        }

        try
        {
            await CreateSchemaAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (PostgreSqlStoreErrors.IsStoreFault(ex))
        {
            LogSchemaCreationFailed(ex, database.Sql.QualifiedTableName);
            throw PostgreSqlStoreErrors.Wrap(ex, Operation, database.Sql);
        }

        LogSchemaEnsured(database.Sql.QualifiedTableName);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    internal Task CreateSchemaAsync(CancellationToken cancellationToken) => database.RunSchemaScriptAsync(
        "Idempotency.PostgreSql schema",
        database.Sql.QualifiedTableName,
        PostgreSqlSchemaScript.For(database.Sql.Schema, database.Sql.TableName),
        cancellationToken);
}
