namespace Idempotency.PostgreSql;

/// <summary>
/// The schema script shipped in the package (<c>sql/create.sql</c>, embedded), rewritten for the configured schema and
/// table. The shipped file names the defaults literally so that teams can run it as it is.
/// </summary>
internal static class PostgreSqlSchemaScript
{
    private const string ResourceName = "Idempotency.PostgreSql.create.sql";
    private const string DefaultTable = "\"" + PostgreSqlStoreDefaults.TableName + "\"";
    private const string DefaultQualifiedTable = "\"" + PostgreSqlStoreDefaults.Schema + "\"." + DefaultTable;
    private const string DefaultIndex = "\"" + PostgreSqlStoreDefaults.TableName + "_expires_at_idx\"";

    private static readonly Lazy<string> s_shipped = new(ReadShipped);

    /// <summary>Gets the script exactly as shipped.</summary>
    public static string Shipped => s_shipped.Value;

    /// <summary>The script for <paramref name="schema"/>.<paramref name="tableName"/>; creates the schema too unless it is <c>public</c>.</summary>
    public static string For(string schema, string tableName)
    {
        var script = Shipped
            .Replace(DefaultQualifiedTable, PostgreSqlStoreSql.Quote(schema) + "." + PostgreSqlStoreSql.Quote(tableName), StringComparison.Ordinal)
            .Replace(DefaultIndex, PostgreSqlStoreSql.Quote(tableName + "_expires_at_idx"), StringComparison.Ordinal);

        // CREATE SCHEMA needs the CREATE privilege on the database even when the schema exists, so "public" is left alone.
        return string.Equals(schema, PostgreSqlStoreDefaults.Schema, StringComparison.Ordinal)
            ? script
            : $"CREATE SCHEMA IF NOT EXISTS {PostgreSqlStoreSql.Quote(schema)};\n{script}";
    }

    private static string ReadShipped()
    {
        using var stream = typeof(PostgreSqlSchemaScript).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"The embedded resource {ResourceName} is missing from {typeof(PostgreSqlSchemaScript).Assembly.GetName().Name}.");
        using var reader = new StreamReader(stream);
        var script = reader.ReadToEnd();
        if (!script.Contains(DefaultQualifiedTable, StringComparison.Ordinal) || !script.Contains(DefaultIndex, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"The embedded schema script no longer names {DefaultQualifiedTable} and {DefaultIndex}; {nameof(PostgreSqlSchemaScript)} must be updated with it.");
        }

        return script;
    }
}
