using System.Globalization;

namespace Idempotency.PostgreSql;

/// <summary>
/// The SQL of the store, built once for one table. Every contract operation is a single statement that runs in its
/// own implicit transaction (or in the caller's, in transactional mode) and reads time from the database clock, so
/// all instances of a service agree on when a lease or a retention ends.
/// </summary>
internal sealed class PostgreSqlStoreSql
{
    public const short InFlightState = 1;
    public const short CompletedState = 2;
    public const short FormatVersion = 1;

    public PostgreSqlStoreSql(string schema, string tableName)
    {
        Schema = schema;
        TableName = tableName;
        QualifiedTableName = $"{Quote(schema)}.{Quote(tableName)}";
        var t = QualifiedTableName;

        Claim = BuildClaim(t, source: "VALUES (@Key, {0}, @OwnerToken, @Fingerprint, NULL, {1}, clock_timestamp() + @LeaseMilliseconds * interval '1 millisecond', clock_timestamp())");

        // Transactional mode: the claim runs inside the request's transaction, whose row stays invisible (and locked)
        // until commit. A duplicate must not queue on that row lock behind the whole handler, so the statement first
        // tries a transaction-scoped advisory lock on the key. With the lock, it claims as above (and sees every
        // committed record of the key). Without it, another transaction is running or replaying this key: it inserts
        // nothing and reports the committed record instead, so a completed key is still replayed and anything else
        // is in flight, at once.
        var claim = BuildClaim(
            t,
            source: "SELECT @Key, {0}, @OwnerToken, @Fingerprint, NULL::bytea, {1}, clock_timestamp() + @LeaseMilliseconds * interval '1 millisecond', clock_timestamp()\nFROM key_lock WHERE key_lock.locked");
        TransactionalClaim = $"""
            WITH key_lock AS (SELECT pg_try_advisory_xact_lock(@LockKey) AS locked),
            claimed AS (
            {claim}
            )
            SELECT "Status", "Payload", "ExpiresAt", "Remaining" FROM claimed
            UNION ALL
            SELECT
                CASE WHEN r.expires_at <= clock_timestamp() THEN {(int)ClaimStatus.InFlight}
                     WHEN r.fingerprint <> @Fingerprint THEN {(int)ClaimStatus.FingerprintMismatch}
                     WHEN r.state = {CompletedState} THEN {(int)ClaimStatus.Completed}
                     ELSE {(int)ClaimStatus.InFlight} END,
                CASE WHEN r.state = {CompletedState} AND r.fingerprint = @Fingerprint AND r.expires_at > clock_timestamp() THEN r.payload END,
                r.expires_at,
                CASE WHEN r.expires_at <= clock_timestamp() THEN @LeaseMilliseconds * interval '1 millisecond'
                     ELSE r.expires_at - clock_timestamp() END
            FROM {t} AS r, key_lock
            WHERE NOT key_lock.locked AND r.key = @Key
            """;

        // Only the owner completes its claim, even after its lease passed, as long as nobody has taken the key over.
        Complete = $"""
            UPDATE {t}
            SET state = {CompletedState}, owner_token = NULL, payload = @Payload,
                expires_at = clock_timestamp() + @RetentionMilliseconds * interval '1 millisecond'
            WHERE key = @Key AND state = {InFlightState} AND owner_token = @OwnerToken
            """;

        Release = $"""
            DELETE FROM {t}
            WHERE key = @Key AND state = {InFlightState} AND owner_token = @OwnerToken
            """;

        // Oldest first through the expires_at index; SKIP LOCKED so that instances cleaning at once, and claims that
        // are taking an expired row over right now, never wait on each other. The row lock re-checks expires_at on the
        // row's latest version, so a row re-claimed since the snapshot is left alone.
        DeleteExpiredBatch = $"""
            DELETE FROM {t}
            WHERE key IN (
                SELECT key FROM {t}
                WHERE expires_at <= clock_timestamp()
                ORDER BY expires_at
                LIMIT @BatchSize
                FOR UPDATE SKIP LOCKED)
            """;
    }

    public string Schema { get; }

    public string TableName { get; }

    /// <summary>Gets the quoted, schema-qualified table name, e.g. <c>"public"."idempotency_records"</c>.</summary>
    public string QualifiedTableName { get; }

    public string Claim { get; }

    /// <summary>
    /// Gets the claim of transactional mode. When another transaction holds the key it reports the committed record
    /// (or no row at all when none is committed yet) instead of claiming.
    /// </summary>
    public string TransactionalClaim { get; }

    public string Complete { get; }

    public string Release { get; }

    public string DeleteExpiredBatch { get; }

    // One statement that inserts a new claim, takes over an expired record, or leaves a live record as it is.
    // It always ends in the DO UPDATE branch for an existing row, because only a row that the statement inserted
    // or updated is RETURNed: the "no-op" update of a live record (every column set to its own value, a HOT update
    // since no indexed value changes) is what lets one statement report what it found. Concurrent claimers of one
    // key queue on its row lock and each sees the row as the previous one left it, so exactly one wins.
    // clock_timestamp() rather than now(): in transactional mode the statement runs inside a longer transaction.
    private static string BuildClaim(string t, string source)
    {
        const string Taken = "r.expires_at <= EXCLUDED.created_at";
        var rows = string.Format(CultureInfo.InvariantCulture, source, InFlightState, FormatVersion);
        return $"""
            INSERT INTO {t} AS r (key, state, owner_token, fingerprint, payload, format_version, expires_at, created_at)
            {rows}
            ON CONFLICT (key) DO UPDATE SET
                state = CASE WHEN {Taken} THEN EXCLUDED.state ELSE r.state END,
                owner_token = CASE WHEN {Taken} THEN EXCLUDED.owner_token ELSE r.owner_token END,
                fingerprint = CASE WHEN {Taken} THEN EXCLUDED.fingerprint ELSE r.fingerprint END,
                payload = CASE WHEN {Taken} THEN NULL ELSE r.payload END,
                format_version = CASE WHEN {Taken} THEN EXCLUDED.format_version ELSE r.format_version END,
                expires_at = CASE WHEN {Taken} THEN EXCLUDED.expires_at ELSE r.expires_at END,
                created_at = CASE WHEN {Taken} THEN EXCLUDED.created_at ELSE r.created_at END
            RETURNING
                CASE WHEN r.state = {InFlightState} AND r.owner_token = @OwnerToken THEN {(int)ClaimStatus.Claimed}
                     WHEN r.fingerprint <> @Fingerprint THEN {(int)ClaimStatus.FingerprintMismatch}
                     WHEN r.state = {CompletedState} THEN {(int)ClaimStatus.Completed}
                     ELSE {(int)ClaimStatus.InFlight} END AS "Status",
                CASE WHEN r.state = {CompletedState} AND r.fingerprint = @Fingerprint THEN r.payload END AS "Payload",
                r.expires_at AS "ExpiresAt",
                r.expires_at - clock_timestamp() AS "Remaining"
            """;
    }

    // Names are validated as lower-case identifiers before they get here; quoting keeps them from ever being keywords.
    public static string Quote(string identifier) => $"\"{identifier}\"";
}
