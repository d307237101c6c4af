namespace Idempotency.PostgreSql;

/// <summary>
/// The SQL of the conditional-write stores, built once for one pair of tables. Every write checks and writes in one
/// statement, so that the check and the write cannot be separated by another writer.
/// </summary>
internal sealed class PostgreSqlConditionalWriteSql
{
    public const int AppliedStatus = 1;
    public const int ConflictStatus = 2;

    public PostgreSqlConditionalWriteSql(string schema, string recordsTableName, string streamEntriesTableName)
    {
        Schema = schema;
        RecordsTable = $"{PostgreSqlStoreSql.Quote(schema)}.{PostgreSqlStoreSql.Quote(recordsTableName)}";
        StreamEntriesTable = $"{PostgreSqlStoreSql.Quote(schema)}.{PostgreSqlStoreSql.Quote(streamEntriesTableName)}";
        var r = RecordsTable;
        var s = StreamEntriesTable;

        GetRecord = $"""SELECT version AS "Version", value AS "Value" FROM {r} WHERE id = @Id""";

        GetRecordVersion = $"SELECT version FROM {r} WHERE id = @Id";

        // A record that exists in the statement's snapshot is reported with its version. One created by a writer that
        // committed after the snapshot was taken makes the insert do nothing (the primary key waited for that writer)
        // yet stays invisible to the second branch: the statement then returns no row, and the caller reads again.
        CreateRecord = $"""
            WITH created AS (
                INSERT INTO {r} (id, version, value) VALUES (@Id, 1, @Value)
                ON CONFLICT (id) DO NOTHING
                RETURNING version
            )
            SELECT {AppliedStatus} AS "Status", version AS "Version" FROM created
            UNION ALL
            SELECT {ConflictStatus}, version FROM {r} WHERE id = @Id AND NOT EXISTS (SELECT 1 FROM created)
            """;

        // The update is the compare-and-set. When it writes nothing, the second CTE tells a conflict (a row, with the
        // current version) from a missing record (no row). It locks the row FOR SHARE because that is what makes it
        // report the version of a writer that committed while this statement waited for it: under Read Committed a
        // locking read follows the row to its latest version, whereas a plain read (or FOR KEY SHARE, which does not
        // conflict with a non-key update) returns the version of the statement's snapshot, which is the expected one.
        UpdateRecord = $"""
            WITH updated AS (
                UPDATE {r} SET value = @Value, version = version + 1
                WHERE id = @Id AND version = @Expected
                RETURNING version
            ),
            current_version AS (
                SELECT version FROM {r}
                WHERE id = @Id AND NOT EXISTS (SELECT 1 FROM updated)
                FOR SHARE
            )
            SELECT {AppliedStatus} AS "Status", version AS "Version" FROM updated
            UNION ALL
            SELECT {ConflictStatus}, version FROM current_version
            """;

        // The unique index on (stream, sequence) is the check: of two writers that both insert entry N + 1, the second
        // waits for the first and then inserts nothing. The head read only spares the insert when the writer is already
        // known to be late. "Appended" is null when nothing was inserted; "Last" is the last entry in the snapshot.
        Append = $"""
            WITH head AS (
                SELECT coalesce(max(sequence), 0) AS sequence FROM {s} WHERE stream = @Stream
            ),
            appended AS (
                INSERT INTO {s} (stream, sequence, payload)
                SELECT @Stream, @Expected + 1, @Payload FROM head WHERE head.sequence = @Expected
                ON CONFLICT (stream, sequence) DO NOTHING
                RETURNING sequence
            )
            SELECT (SELECT sequence FROM appended) AS "Appended", (SELECT sequence FROM head) AS "Last"
            """;

        GetLastSequence = $"SELECT coalesce(max(sequence), 0) FROM {s} WHERE stream = @Stream";

        Read = $"""
            SELECT sequence AS "Sequence", payload AS "Payload" FROM {s}
            WHERE stream = @Stream AND sequence >= @FromSequence
            ORDER BY sequence
            LIMIT @MaxCount
            """;
    }

    public string Schema { get; }

    /// <summary>Gets the quoted, schema-qualified records table, e.g. <c>"public"."conditional_records"</c>.</summary>
    public string RecordsTable { get; }

    /// <summary>Gets the quoted, schema-qualified stream entries table, e.g. <c>"public"."conditional_stream_entries"</c>.</summary>
    public string StreamEntriesTable { get; }

    public string GetRecord { get; }

    public string GetRecordVersion { get; }

    public string CreateRecord { get; }

    public string UpdateRecord { get; }

    public string Append { get; }

    public string GetLastSequence { get; }

    public string Read { get; }
}
