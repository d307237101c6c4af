namespace Idempotency.PostgreSql;

/// <summary>
/// The conditional-write schema script shipped in the package (<c>sql/conditional-writes.sql</c>, embedded), rewritten
/// for the configured schema and tables. The shipped file names the defaults literally so that teams can run it as it is.
/// </summary>
internal static class PostgreSqlConditionalWriteSchemaScript
{
    private const string ResourceName = "Idempotency.PostgreSql.conditional-writes.sql";
    private const string DefaultSchema = "\"" + PostgreSqlConditionalWriteDefaults.Schema + "\".";
    private const string DefaultRecords = DefaultSchema + "\"" + PostgreSqlConditionalWriteDefaults.RecordsTableName + "\"";
    private const string DefaultStreamEntries = DefaultSchema + "\"" + PostgreSqlConditionalWriteDefaults.StreamEntriesTableName + "\"";

    private static readonly Lazy<string> s_shipped = new(ReadShipped);

    /// <summary>Gets the script exactly as shipped.</summary>
    public static string Shipped => s_shipped.Value;

    /// <summary>The script for the tables of <paramref name="options"/>; creates the schema too unless it is <c>public</c>.</summary>
    public static string For(PostgreSqlConditionalWriteOptions options)
    {
        var schema = PostgreSqlStoreSql.Quote(options.Schema) + ".";
        var script = Shipped
            .Replace(DefaultRecords, schema + PostgreSqlStoreSql.Quote(options.RecordsTableName), StringComparison.Ordinal)
            .Replace(DefaultStreamEntries, schema + PostgreSqlStoreSql.Quote(options.StreamEntriesTableName), StringComparison.Ordinal);

        // CREATE SCHEMA needs the CREATE privilege on the database even when the schema exists, so "public" is left alone.
        return string.Equals(options.Schema, PostgreSqlConditionalWriteDefaults.Schema, StringComparison.Ordinal)
            ? script
            : $"CREATE SCHEMA IF NOT EXISTS {PostgreSqlStoreSql.Quote(options.Schema)};\n{script}";
    }

    private static string ReadShipped()
    {
        using var stream = typeof(PostgreSqlConditionalWriteSchemaScript).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"The embedded resource {ResourceName} is missing from {typeof(PostgreSqlConditionalWriteSchemaScript).Assembly.GetName().Name}.");
        using var reader = new StreamReader(stream);
        var script = reader.ReadToEnd();
        if (!script.Contains(DefaultRecords, StringComparison.Ordinal) || !script.Contains(DefaultStreamEntries, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"The embedded schema script no longer names {DefaultRecords} and {DefaultStreamEntries}; {nameof(PostgreSqlConditionalWriteSchemaScript)} must be updated with it.");
        }

        return script;
    }
}
