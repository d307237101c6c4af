using Microsoft.Extensions.Options;
using Npgsql;

namespace Idempotency.PostgreSql;

/// <summary>Validates <see cref="PostgreSqlIdempotencyStoreOptions"/> at start-up (source-generated from its attributes).</summary>
[OptionsValidator]
internal sealed partial class PostgreSqlIdempotencyStoreOptionsValidator : IValidateOptions<PostgreSqlIdempotencyStoreOptions>;

/// <summary>Validates how <see cref="PostgreSqlIdempotencyStoreOptions"/> reaches the database: one source, well formed.</summary>
internal sealed class PostgreSqlIdempotencyStoreConnectionValidator : IValidateOptions<PostgreSqlIdempotencyStoreOptions>
{
    public ValidateOptionsResult Validate(string? name, PostgreSqlIdempotencyStoreOptions options)
    {
        if (options.DataSourceServiceKey is not null && (options.ConnectionString is not null || options.DataSource is not null))
        {
            return ValidateOptionsResult.Fail(
                "Set either DataSourceServiceKey or " + (options.ConnectionString is not null ? "ConnectionString" : "DataSource") +
                " of the PostgreSQL idempotency store, not both: the service key selects the application's keyed NpgsqlDataSource.");
        }

        if (options.ConnectionString is null)
        {
            return ValidateOptionsResult.Success;
        }

        if (options.DataSource is not null)
        {
            return ValidateOptionsResult.Fail("Set either ConnectionString or DataSource of the PostgreSQL idempotency store, not both.");
        }

        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            return ValidateOptionsResult.Fail("ConnectionString of the PostgreSQL idempotency store is empty.");
        }

        try
        {
            _ = new NpgsqlConnectionStringBuilder(options.ConnectionString);
        }
        catch (ArgumentException ex)
        {
            // The message names the offending keyword, never the connection string itself (it may hold a password).
            return ValidateOptionsResult.Fail($"ConnectionString of the PostgreSQL idempotency store is not a valid Npgsql connection string: {ex.Message}");
        }

        return ValidateOptionsResult.Success;
    }
}
