using Idempotency.EntityFrameworkCore;

namespace Microsoft.EntityFrameworkCore;

/// <summary>Maps the idempotency records table into an application's EF Core model, so that its migrations create it.</summary>
public static class IdempotencyRecordsModelBuilderExtensions
{
    /// <summary>The table's default name, the same as the PostgreSQL store's: <c>idempotency_records</c>.</summary>
    public const string DefaultTableName = "idempotency_records";

    /// <summary>The key column's default collation, PostgreSQL's byte-wise <c>C</c> (keys are compared byte for byte).</summary>
    public const string DefaultKeyCollation = "C";

    /// <summary>
    /// Maps the idempotency records table: the same table, columns, primary key, check constraint and index that the
    /// PostgreSQL store's <c>create.sql</c> creates, so that the EF Core unit of work and the PostgreSQL store can share one
    /// table. Call it in <c>OnModelCreating</c>; <c>Database.EnsureCreated()</c> or a migration then creates the table.
    /// </summary>
    /// <param name="modelBuilder">The model builder of the application's <see cref="DbContext"/>.</param>
    /// <param name="tableName">The table's name; the default is <see cref="DefaultTableName"/>.</param>
    /// <param name="schema">
    /// The table's schema; the default, <see langword="null"/>, is the model's default schema (PostgreSQL's <c>public</c>
    /// unless the model sets another).
    /// </param>
    /// <param name="keyCollation">
    /// The collation of the <c>key</c> column, which must compare byte for byte. The default, <see cref="DefaultKeyCollation"/>,
    /// is PostgreSQL's; pass the provider's binary collation for another provider, or <see langword="null"/> for none.
    /// </param>
    /// <returns>The same model builder.</returns>
    public static ModelBuilder AddIdempotencyRecords(
        this ModelBuilder modelBuilder, string tableName = DefaultTableName, string? schema = null, string? keyCollation = DefaultKeyCollation)
    {
        ArgumentNullException.ThrowIfNull(modelBuilder);
        ArgumentException.ThrowIfNullOrWhiteSpace(tableName);
        modelBuilder.Entity<IdempotencyRecordRow>(record =>
        {
            record.ToTable(tableName, schema, table => table.HasCheckConstraint($"{tableName}_state_check", "state IN (1, 2)"));
            record.HasKey(r => r.Key).HasName($"{tableName}_pkey");
            var key = record.Property(r => r.Key).HasColumnName("key").IsRequired().ValueGeneratedNever();
            if (keyCollation is not null)
            {
                key.UseCollation(keyCollation);
            }

            record.Property(r => r.State).HasColumnName("state").IsRequired();
            record.Property(r => r.OwnerToken).HasColumnName("owner_token");
            record.Property(r => r.Fingerprint).HasColumnName("fingerprint").IsRequired();
            record.Property(r => r.Payload).HasColumnName("payload");
            record.Property(r => r.FormatVersion).HasColumnName("format_version").IsRequired();
            record.Property(r => r.ExpiresAt).HasColumnName("expires_at").IsRequired();
            record.Property(r => r.CreatedAt).HasColumnName("created_at").IsRequired();

            // The cleanup deletes the oldest expired rows first.
            record.HasIndex(r => r.ExpiresAt).HasDatabaseName($"{tableName}_expires_at_idx");
        });
        return modelBuilder;
    }
}
