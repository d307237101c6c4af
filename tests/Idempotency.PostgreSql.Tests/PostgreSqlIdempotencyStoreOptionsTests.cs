using Microsoft.Extensions.Options;
using Npgsql;

namespace Idempotency.PostgreSql.Tests;

public sealed class PostgreSqlIdempotencyStoreOptionsTests
{
    [Fact]
    public void Defaults_AreTheDocumentedOnes()
    {
        var options = new PostgreSqlIdempotencyStoreOptions();

        Assert.Null(options.ConnectionString);
        Assert.Null(options.DataSource);
        Assert.Null(options.DataSourceServiceKey);
        Assert.Equal("public", options.Schema);
        Assert.Equal("idempotency_records", options.TableName);
        Assert.False(options.CreateSchemaOnStartup);
        Assert.True(options.EnableCleanup);
        Assert.True(options.PrepareStatements);
        Assert.Equal(TimeSpan.FromMinutes(1), options.CleanupInterval);
        Assert.Equal(1000, options.CleanupBatchSize);
        Assert.Equal(TimeSpan.FromMinutes(1), options.LeaseGracePeriod);
        Assert.True(Validate(options).Succeeded);
    }

    [Theory]
    [InlineData("Public")]
    [InlineData("1schema")]
    [InlineData("my-schema")]
    [InlineData("x\"; DROP TABLE y; --")]
    [InlineData("")]
    public void Validate_Fails_WhenSchemaIsNotALowerCaseIdentifier(string schema)
    {
        var result = Validate(new PostgreSqlIdempotencyStoreOptions { Schema = schema });

        Assert.True(result.Failed);
        Assert.Contains("Schema", result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Records")]
    [InlineData("records table")]
    [InlineData("a23456789012345678901234567890123456789012345678x")] // 49 characters
    public void Validate_Fails_WhenTableNameIsNotALowerCaseIdentifierOfAtMost48Characters(string tableName)
    {
        var result = Validate(new PostgreSqlIdempotencyStoreOptions { TableName = tableName });

        Assert.True(result.Failed);
        Assert.Contains(
            "TableName must be a lower-case PostgreSQL identifier: letters a-z, digits and underscores, not starting with a digit, at most 48 characters.",
            result.FailureMessage,
            StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("_records")]
    [InlineData("idem_2")]
    [InlineData("a23456789012345678901234567890123456789012345678")] // 48 characters
    public void Validate_Succeeds_ForLowerCaseIdentifiers(string name)
    {
        Assert.True(Validate(new PostgreSqlIdempotencyStoreOptions { Schema = name, TableName = name }).Succeeded);
    }

    [Fact]
    public void Validate_Fails_WhenSchemaIsNotAnIdentifier_WithItsMessage()
    {
        var result = Validate(new PostgreSqlIdempotencyStoreOptions { Schema = "Billing" });

        Assert.Contains(
            "Schema must be a lower-case PostgreSQL identifier: letters a-z, digits and underscores, not starting with a digit, at most 48 characters.",
            result.FailureMessage,
            StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(999)]
    [InlineData(86_400_001)]
    public void Validate_Fails_WhenCleanupIntervalIsOutOfRange(int milliseconds)
    {
        var result = Validate(new PostgreSqlIdempotencyStoreOptions { CleanupInterval = TimeSpan.FromMilliseconds(milliseconds) });

        Assert.True(result.Failed);
        Assert.Contains("The field PostgreSqlIdempotencyStoreOptions.CleanupInterval must be between 00:00:01 and 1.00:00:00.", result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(100_001)]
    public void Validate_Fails_WhenCleanupBatchSizeIsOutOfRange(int batchSize)
    {
        var result = Validate(new PostgreSqlIdempotencyStoreOptions { CleanupBatchSize = batchSize });

        Assert.True(result.Failed);
        Assert.Contains("The field PostgreSqlIdempotencyStoreOptions.CleanupBatchSize must be between 1 and 100000.", result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(86_400_001)]
    public void Validate_Fails_WhenLeaseGracePeriodIsOutOfRange(int milliseconds)
    {
        var result = Validate(new PostgreSqlIdempotencyStoreOptions { LeaseGracePeriod = TimeSpan.FromMilliseconds(milliseconds) });

        Assert.True(result.Failed);
        Assert.Contains("The field PostgreSqlIdempotencyStoreOptions.LeaseGracePeriod must be between 00:00:00 and 1.00:00:00.", result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(86_400_000)]
    public void Validate_Succeeds_ForALeaseGracePeriodFromZeroToOneDay(int milliseconds)
    {
        Assert.True(Validate(new PostgreSqlIdempotencyStoreOptions { LeaseGracePeriod = TimeSpan.FromMilliseconds(milliseconds) }).Succeeded);
    }

    [Fact]
    public void Validate_Fails_WhenBothConnectionStringAndDataSourceAreSet()
    {
        using var dataSource = NpgsqlDataSource.Create("Host=127.0.0.1");

        var result = Validate(new PostgreSqlIdempotencyStoreOptions { ConnectionString = "Host=127.0.0.1", DataSource = dataSource });

        Assert.Contains("Set either ConnectionString or DataSource of the PostgreSQL idempotency store, not both.", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_Fails_WhenAServiceKeyAndAConnectionStringAreSet()
    {
        var result = Validate(new PostgreSqlIdempotencyStoreOptions { ConnectionString = "Host=127.0.0.1", DataSourceServiceKey = "ledger" });

        Assert.Contains(
            "Set either DataSourceServiceKey or ConnectionString of the PostgreSQL idempotency store, not both: the service key selects the application's keyed NpgsqlDataSource.",
            result.FailureMessage,
            StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_Fails_WhenConnectionStringIsBlank()
    {
        var result = Validate(new PostgreSqlIdempotencyStoreOptions { ConnectionString = "  " });

        Assert.Contains("ConnectionString of the PostgreSQL idempotency store is empty.", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_Fails_WithoutEchoingTheConnectionString_WhenItIsMalformed()
    {
        var result = Validate(new PostgreSqlIdempotencyStoreOptions { ConnectionString = "Host=127.0.0.1;Password=hunter2;Colour=blue" });

        Assert.Contains("ConnectionString of the PostgreSQL idempotency store is not a valid Npgsql connection string:", result.FailureMessage, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_Succeeds_WithAWellFormedConnectionString()
    {
        Assert.True(Validate(new PostgreSqlIdempotencyStoreOptions { ConnectionString = "Host=127.0.0.1;Username=app;Password=secret" }).Succeeded);
    }

    private static ValidateOptionsResult Validate(PostgreSqlIdempotencyStoreOptions options)
    {
        IValidateOptions<PostgreSqlIdempotencyStoreOptions>[] validators = [new PostgreSqlIdempotencyStoreOptionsValidator(), new PostgreSqlIdempotencyStoreConnectionValidator()];
        var failures = validators.Select(v => v.Validate(null, options)).Where(r => r.Failed).SelectMany(r => r.Failures!).ToList();
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
