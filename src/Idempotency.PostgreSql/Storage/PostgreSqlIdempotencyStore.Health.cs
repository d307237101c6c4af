using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace Idempotency.PostgreSql;

/// <summary>
/// The store's health (<c>AddHealthChecks().AddIdempotencyStore()</c>): a connection from the store's data source and
/// one statement that says whether the records table exists. Either failing is the registration's failure status
/// (Unhealthy by default): every keyed request would be refused.
/// </summary>
internal sealed partial class PostgreSqlIdempotencyStore : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        try
        {
            var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using var connectionDisposal = connection.ConfigureAwait(false);
            var command = new NpgsqlCommand("SELECT to_regclass($1) IS NOT NULL", connection);
            await using var commandDisposal = command.ConfigureAwait(false);
            command.Parameters.Add(new NpgsqlParameter { Value = _sql.QualifiedTableName });
            var exists = (bool)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
            return exists
                ? HealthCheckResult.Healthy($"PostgreSQL answers, and the table {_sql.QualifiedTableName} exists.")
                : new HealthCheckResult(
                    context.Registration.FailureStatus,
                    $"PostgreSQL answers, but the table {_sql.QualifiedTableName} does not exist: every keyed request fails. Create it with the " +
                    "create.sql script shipped in the Idempotency.PostgreSql package, or set PostgreSqlIdempotencyStoreOptions.CreateSchemaOnStartup to true.");
        }
        catch (Exception ex) when (PostgreSqlStoreErrors.IsStoreFault(ex))
        {
            // The exception's message can name the host, never the password: Npgsql keeps it out of its messages.
            return new HealthCheckResult(context.Registration.FailureStatus, "The PostgreSQL idempotency store cannot reach its database: " + ex.Message, ex);
        }
    }
}
