using Microsoft.Extensions.Options;
using Npgsql;

namespace Idempotency.PostgreSql.Tests.ConditionalWrites;

public sealed class PostgreSqlConditionalWriteOptionsTests
{
    [Fact]
    public void Defaults_AreTheDocumentedOnes()
    {
        var options = new PostgreSqlConditionalWriteOptions();

        Assert.Null(options.ConnectionString);
        Assert.Null(options.DataSource);
        Assert.Equal("public", options.Schema);
        Assert.Equal("conditional_records", options.RecordsTableName);
        Assert.Equal("conditional_stream_entries", options.StreamEntriesTableName);
        Assert.False(options.CreateSchemaOnStartup);
        Assert.True(Validate(options).Succeeded);
    }

    [Theory]
    [InlineData("Public", null, null, "Schema must be a lower-case PostgreSQL identifier: letters a-z, digits and underscores, not starting with a digit, at most 48 characters.")]
    [InlineData(null, "my-records", null, "RecordsTableName must be a lower-case PostgreSQL identifier: letters a-z, digits and underscores, not starting with a digit, at most 48 characters.")]
    [InlineData(null, null, "x\"; DROP TABLE y; --", "StreamEntriesTableName must be a lower-case PostgreSQL identifier: letters a-z, digits and underscores, not starting with a digit, at most 48 characters.")]
    [InlineData(null, "same", "same", "RecordsTableName and StreamEntriesTableName of the PostgreSQL conditional-write stores must differ: records and stream entries need tables of their own.")]
    public void Validate_Fails_WithAMessageThatNamesTheSetting(string? schema, string? records, string? entries, string message)
    {
        var options = new PostgreSqlConditionalWriteOptions();
        options.Schema = schema ?? options.Schema;
        options.RecordsTableName = records ?? options.RecordsTableName;
        options.StreamEntriesTableName = entries ?? options.StreamEntriesTableName;

        var result = Validate(options);

        Assert.True(result.Failed);
        Assert.Contains(message, result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_Fails_WhenBothAConnectionStringAndADataSourceAreSet()
    {
        using var dataSource = NpgsqlDataSource.Create("Host=127.0.0.1");

        var result = Validate(new PostgreSqlConditionalWriteOptions { ConnectionString = "Host=127.0.0.1", DataSource = dataSource });

        Assert.Equal("Set either ConnectionString or DataSource of the PostgreSQL conditional-write stores, not both.", result.FailureMessage);
    }

    [Fact]
    public void Validate_Fails_WithoutRepeatingTheConnectionString_WhenItIsMalformed()
    {
        var result = Validate(new PostgreSqlConditionalWriteOptions { ConnectionString = "Host=127.0.0.1;Password=hunter2;Bogus=1" });

        Assert.StartsWith("ConnectionString of the PostgreSQL conditional-write stores is not a valid Npgsql connection string: ", result.FailureMessage, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", result.FailureMessage, StringComparison.Ordinal);
    }

    private static ValidateOptionsResult Validate(PostgreSqlConditionalWriteOptions options)
    {
        var attributes = new PostgreSqlConditionalWriteOptionsValidator().Validate(null, options);
        return attributes.Failed ? attributes : new PostgreSqlConditionalWriteConnectionValidator().Validate(null, options);
    }
}
