using System.ComponentModel.DataAnnotations;
using Npgsql;

namespace Idempotency.PostgreSql;

/// <summary>Where and how the PostgreSQL store keeps idempotency records.</summary>
/// <remarks>
/// Set <see cref="ConnectionString"/> or <see cref="DataSource"/>, not both. When neither is set, the store uses the
/// application's <see cref="NpgsqlDataSource"/> from the service provider (registered by Aspire's or Npgsql's
/// <c>AddNpgsqlDataSource</c>), keyed by <see cref="DataSourceServiceKey"/> when that is set (<c>AddKeyedNpgsqlDataSource</c>).
/// </remarks>
public sealed class PostgreSqlIdempotencyStoreOptions
{
    /// <summary>Gets or sets the Npgsql connection string the store builds its own data source from.</summary>
    /// <value>The default is <see langword="null"/>.</value>
    /// <remarks>
    /// The store owns and disposes the data source it builds. Its <c>Timeout</c> and <c>Command Timeout</c> bound how
    /// long a request waits for an unreachable database before the store fails (and the middleware answers 503).
    /// </remarks>
    public string? ConnectionString { get; set; }

    /// <summary>Gets or sets a data source to share with the application (the store does not dispose it).</summary>
    /// <value>The default is <see langword="null"/>.</value>
    public NpgsqlDataSource? DataSource { get; set; }

    /// <summary>
    /// Gets or sets the service key of the application's keyed <see cref="NpgsqlDataSource"/> to use, for example the
    /// connection name given to Aspire's <c>AddKeyedNpgsqlDataSource("ledger")</c>. The store does not dispose it.
    /// </summary>
    /// <value>
    /// The default is <see langword="null"/>: without <see cref="ConnectionString"/> or <see cref="DataSource"/>, the
    /// store uses the data source registered without a key.
    /// </value>
    /// <remarks><c>AddPostgreSqlStore(serviceKey: "ledger")</c> sets it.</remarks>
    public object? DataSourceServiceKey { get; set; }

    /// <summary>Gets or sets the schema of the records table.</summary>
    /// <value>The default is <c>public</c>.</value>
    /// <remarks>A lower-case identifier: letters a-z, digits and underscores, not starting with a digit, at most 48 characters.</remarks>
    [Required]
    [RegularExpression(PostgreSqlStoreDefaults.IdentifierPattern, ErrorMessage = "Schema must be a lower-case PostgreSQL identifier: letters a-z, digits and underscores, not starting with a digit, at most 48 characters.")]
    public string Schema { get; set; } = PostgreSqlStoreDefaults.Schema;

    /// <summary>Gets or sets the name of the records table.</summary>
    /// <value>The default is <c>idempotency_records</c>.</value>
    /// <remarks>A lower-case identifier: letters a-z, digits and underscores, not starting with a digit, at most 48 characters.</remarks>
    [Required]
    [RegularExpression(PostgreSqlStoreDefaults.IdentifierPattern, ErrorMessage = "TableName must be a lower-case PostgreSQL identifier: letters a-z, digits and underscores, not starting with a digit, at most 48 characters.")]
    public string TableName { get; set; } = PostgreSqlStoreDefaults.TableName;

    /// <summary>
    /// Gets or sets whether the store creates its schema and table at start-up (<c>CREATE ... IF NOT EXISTS</c>,
    /// serialized across instances by an advisory lock).
    /// </summary>
    /// <value>The default is <see langword="false"/>.</value>
    /// <remarks>
    /// Off by default: in production the application's database user should not need the right to create tables,
    /// and many teams apply schema changes through their own migrations. Run the <c>create.sql</c> script shipped in
    /// the package (the same script the store runs when this is on), or turn this on for development and samples.
    /// When on, the host does not start until the table exists.
    /// </remarks>
    public bool CreateSchemaOnStartup { get; set; } = PostgreSqlStoreDefaults.CreateSchemaOnStartup;

    /// <summary>Gets or sets whether the store prepares its statements on each connection.</summary>
    /// <value>The default is <see langword="true"/>.</value>
    /// <remarks>
    /// Prepared, the statements are parsed and planned once per physical connection (Npgsql keeps them across pool
    /// rentals) instead of on every request; the claim in particular costs more to plan than to run. Turn this off
    /// behind a connection pooler that cannot carry prepared statements from one transaction to the next, such as
    /// PgBouncer in transaction pooling mode before version 1.21 (or later versions without
    /// <c>max_prepared_statements</c>): there a prepared statement may be missing on the server connection a
    /// request gets, and the store's calls fail.
    /// </remarks>
    public bool PrepareStatements { get; set; } = PostgreSqlStoreDefaults.PrepareStatements;

    /// <summary>
    /// Gets or sets how long after its lease has ended an in-flight claim can still be completed or released by its
    /// owner, as long as nobody else has claimed the key.
    /// </summary>
    /// <value>The default is 1 minute.</value>
    /// <remarks>
    /// Once the lease ends, any request with the key may claim it again (and the original owner's completion then
    /// reports <see cref="CompletionStatus.ClaimLost"/>). Until one does, the original owner can still complete (or
    /// release) its claim, so an operation that overran its lease is recorded instead of being run again by the next
    /// retry. After the grace period a late completion reports <see cref="CompletionStatus.ClaimLost"/>, whether or not
    /// the cleanup service has deleted the record yet; the cleanup service deletes an in-flight record only once its
    /// lease ended more than this long ago. The same option, with the same meaning and default, as the Redis store's.
    /// It plays no part in transactional mode, which holds the key for exactly as long as the request's transaction.
    /// </remarks>
    [TimeSpanRange("00:00:00", "1.00:00:00")]
    public TimeSpan LeaseGracePeriod { get; set; } = PostgreSqlStoreDefaults.LeaseGracePeriod;

    /// <summary>Gets or sets whether a background service deletes expired records.</summary>
    /// <value>The default is <see langword="true"/>.</value>
    /// <remarks>
    /// Expired records are already ignored by the store; cleanup only reclaims their space. It deletes a completed
    /// record once its retention has ended, and an in-flight one once its lease ended more than
    /// <see cref="LeaseGracePeriod"/> ago. Turn it off when another job (pg_cron, a scheduled task) deletes them by
    /// the same rule. Several instances may all run it: batches skip rows that another instance is deleting.
    /// </remarks>
    public bool EnableCleanup { get; set; } = PostgreSqlStoreDefaults.EnableCleanup;

    /// <summary>Gets or sets how often the cleanup service deletes expired records.</summary>
    /// <value>The default is 1 minute.</value>
    [TimeSpanRange("00:00:01", "1.00:00:00")]
    public TimeSpan CleanupInterval { get; set; } = PostgreSqlStoreDefaults.CleanupInterval;

    /// <summary>Gets or sets how many expired records one cleanup statement deletes; each run repeats it until none are left.</summary>
    /// <value>The default is 1,000.</value>
    /// <remarks>Small batches keep each delete's transaction and locks short.</remarks>
    [Range(1, 100_000)]
    public int CleanupBatchSize { get; set; } = PostgreSqlStoreDefaults.CleanupBatchSize;
}
