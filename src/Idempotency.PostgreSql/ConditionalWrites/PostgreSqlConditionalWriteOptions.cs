using System.ComponentModel.DataAnnotations;
using Npgsql;

namespace Idempotency.PostgreSql;

/// <summary>Where the PostgreSQL conditional-write stores keep records and streams (<c>services.AddPostgreSqlConditionalWrites(...)</c>).</summary>
/// <remarks>
/// Set <see cref="ConnectionString"/> or <see cref="DataSource"/>, not both. When neither is set, the stores use the
/// <see cref="NpgsqlDataSource"/> registered in the service provider, or else the data source of the PostgreSQL
/// idempotency store (<c>AddIdempotency().AddPostgreSqlStore(...)</c>), so that conditional writes can take part in
/// its transactional mode.
/// </remarks>
public sealed class PostgreSqlConditionalWriteOptions
{
    /// <summary>Gets or sets the Npgsql connection string the stores build their own data source from.</summary>
    /// <value>The default is <see langword="null"/>.</value>
    /// <remarks>The stores own and dispose the data source they build.</remarks>
    public string? ConnectionString { get; set; }

    /// <summary>Gets or sets a data source to share with the application (the stores do not dispose it).</summary>
    /// <value>The default is <see langword="null"/>.</value>
    public NpgsqlDataSource? DataSource { get; set; }

    /// <summary>Gets or sets the schema of both tables.</summary>
    /// <value>The default is <c>public</c>.</value>
    /// <remarks>A lower-case identifier: letters a-z, digits and underscores, not starting with a digit, at most 48 characters.</remarks>
    [Required]
    [RegularExpression(PostgreSqlStoreDefaults.IdentifierPattern, ErrorMessage = "Schema must be a lower-case PostgreSQL identifier: letters a-z, digits and underscores, not starting with a digit, at most 48 characters.")]
    public string Schema { get; set; } = PostgreSqlConditionalWriteDefaults.Schema;

    /// <summary>Gets or sets the table of versioned records (<see cref="IVersionedRecordStore"/>).</summary>
    /// <value>The default is <c>conditional_records</c>.</value>
    /// <remarks>A lower-case identifier: letters a-z, digits and underscores, not starting with a digit, at most 48 characters.</remarks>
    [Required]
    [RegularExpression(PostgreSqlStoreDefaults.IdentifierPattern, ErrorMessage = "RecordsTableName must be a lower-case PostgreSQL identifier: letters a-z, digits and underscores, not starting with a digit, at most 48 characters.")]
    public string RecordsTableName { get; set; } = PostgreSqlConditionalWriteDefaults.RecordsTableName;

    /// <summary>Gets or sets the table of stream entries (<see cref="IAppendOnlyStreamStore"/>).</summary>
    /// <value>The default is <c>conditional_stream_entries</c>.</value>
    /// <remarks>A lower-case identifier: letters a-z, digits and underscores, not starting with a digit, at most 48 characters.</remarks>
    [Required]
    [RegularExpression(PostgreSqlStoreDefaults.IdentifierPattern, ErrorMessage = "StreamEntriesTableName must be a lower-case PostgreSQL identifier: letters a-z, digits and underscores, not starting with a digit, at most 48 characters.")]
    public string StreamEntriesTableName { get; set; } = PostgreSqlConditionalWriteDefaults.StreamEntriesTableName;

    /// <summary>
    /// Gets or sets whether the stores create their schema and tables at start-up (<c>CREATE ... IF NOT EXISTS</c>,
    /// serialized across instances by an advisory lock).
    /// </summary>
    /// <value>The default is <see langword="false"/>.</value>
    /// <remarks>
    /// Off by default, as for the idempotency store: run the <c>conditional-writes.sql</c> script shipped in the package
    /// in your own migrations, or turn this on for development and samples. When on, the host does not start until
    /// the tables exist.
    /// </remarks>
    public bool CreateSchemaOnStartup { get; set; } = PostgreSqlConditionalWriteDefaults.CreateSchemaOnStartup;
}
