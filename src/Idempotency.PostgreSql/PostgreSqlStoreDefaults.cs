namespace Idempotency.PostgreSql;

/// <summary>The default of every PostgreSQL store option, in one place, so documentation and tests agree with the code.</summary>
internal static class PostgreSqlStoreDefaults
{
    public const string Schema = "public";
    public const string TableName = "idempotency_records";
    public const bool CreateSchemaOnStartup = false;
    public const bool EnableCleanup = true;
    public const bool PrepareStatements = true;
    public static readonly TimeSpan CleanupInterval = TimeSpan.FromMinutes(1);
    public const int CleanupBatchSize = 1000;
    public static readonly TimeSpan LeaseGracePeriod = TimeSpan.FromMinutes(1);

    // Identifiers are restricted to lower-case names so that quoting them never changes what a DBA sees in psql;
    // 48 characters leave room for the "_expires_at_idx" suffix of the index within PostgreSQL's 63-byte limit.
    public const string IdentifierPattern = "^[a-z_][a-z0-9_]{0,47}$";
}
