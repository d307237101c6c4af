using Microsoft.Extensions.Options;
using Npgsql;

namespace Idempotency.PostgreSql;

/// <summary>Validates <see cref="PostgreSqlConditionalWriteOptions"/> at start-up (source-generated from its attributes).</summary>
[OptionsValidator]
internal sealed partial class PostgreSqlConditionalWriteOptionsValidator : IValidateOptions<PostgreSqlConditionalWriteOptions>;

/// <summary>Validates how <see cref="PostgreSqlConditionalWriteOptions"/> reaches the database: one source, well formed, two distinct tables.</summary>
internal sealed class PostgreSqlConditionalWriteConnectionValidator : IValidateOptions<PostgreSqlConditionalWriteOptions>
{
    public ValidateOptionsResult Validate(string? name, PostgreSqlConditionalWriteOptions options)
    {
        if (string.Equals(options.RecordsTableName, options.StreamEntriesTableName, StringComparison.Ordinal))
        {
            return ValidateOptionsResult.Fail("RecordsTableName and StreamEntriesTableName of the PostgreSQL conditional-write stores must differ: records and stream entries need tables of their own.");
        }

        if (options.ConnectionString is null)
        {
            return ValidateOptionsResult.Success;
        }

        if (options.DataSource is not null)
        {
            return ValidateOptionsResult.Fail("Set either ConnectionString or DataSource of the PostgreSQL conditional-write stores, not both.");
        }

        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            return ValidateOptionsResult.Fail("ConnectionString of the PostgreSQL conditional-write stores is empty.");
        }

        try
        {
            _ = new NpgsqlConnectionStringBuilder(options.ConnectionString);
        }
        catch (ArgumentException ex)
        {
            // The message names the offending keyword, never the connection string itself (it may hold a password).
            return ValidateOptionsResult.Fail($"ConnectionString of the PostgreSQL conditional-write stores is not a valid Npgsql connection string: {ex.Message}");
        }

        return ValidateOptionsResult.Success;
    }
}
