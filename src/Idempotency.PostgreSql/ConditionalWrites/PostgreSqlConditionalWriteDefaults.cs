namespace Idempotency.PostgreSql;

/// <summary>The default of every conditional-write option, in one place, so documentation and tests agree with the code.</summary>
internal static class PostgreSqlConditionalWriteDefaults
{
    public const string Schema = "public";
    public const string RecordsTableName = "conditional_records";
    public const string StreamEntriesTableName = "conditional_stream_entries";
    public const bool CreateSchemaOnStartup = false;
}
