using System.Globalization;

namespace Idempotency.PostgreSql;

/// <summary>
/// The SQL of the store, built once for one table. Every contract operation is a single statement that runs in its
/// own implicit transaction (or in the caller's, in transactional mode) and reads time from the database clock, so
/// all instances of a service agree on when a lease or a retention ends. Parameters are positional (<c>$1</c>, ...),
/// PostgreSQL's own form, which Npgsql sends without rewriting the SQL; the comment above each statement says what it
/// binds, and <see cref="PostgreSqlStoreCommands"/> binds it.
/// </summary>
internal sealed class PostgreSqlStoreSql
{
    public const short InFlightState = 1;
    public const short CompletedState = 2;
    public const short FormatVersion = 1;

    private const int Claimed = (int)ClaimStatus.Claimed;
    private const int InFlight = (int)ClaimStatus.InFlight;
    private const int Completed = (int)ClaimStatus.Completed;
    private const int Mismatch = (int)ClaimStatus.FingerprintMismatch;

    public PostgreSqlStoreSql(
        string schema, string tableName, bool prepareStatements = PostgreSqlStoreDefaults.PrepareStatements, TimeSpan? leaseGracePeriod = null)
    {
        PrepareStatements = prepareStatements;
        Schema = schema;
        TableName = tableName;
        LeaseGracePeriod = leaseGracePeriod ?? PostgreSqlStoreDefaults.LeaseGracePeriod;
        QualifiedTableName = $"{Quote(schema)}.{Quote(tableName)}";
        LockKeyPrefix = PostgreSqlAdvisoryLocks.Prefix(QualifiedTableName);
        var t = QualifiedTableName;

        // The grace is fixed per store, so it is written into the statements (a validated TimeSpan, as a number)
        // rather than bound on every call. An in-flight row is "held" by its owner until its lease ended more than
        // the grace ago: the owner may complete or release it until then, and cleanup deletes it only after.
        var grace = $"interval '{(LeaseGracePeriod.Ticks / TimeSpan.TicksPerMicrosecond).ToString(CultureInfo.InvariantCulture)} microseconds'";
        var heldByItsOwner = $"expires_at > clock_timestamp() - {grace}";

        // $1 key, $2 owner token, $3 fingerprint, $4 lease in milliseconds.
        // Read first: a live record (a duplicate or a replay) is reported as it is, and the statement writes nothing,
        // so a replay is a read-only transaction (no new row version, no WAL, no commit flush). Only when the snapshot
        // shows no live record does it insert a claim, or take over an expired record. If a concurrent claimer
        // committed the key after this statement's snapshot was taken, the insert meets that row (ON CONFLICT sees the
        // latest committed version, whatever the snapshot), leaves it alone because it is live, and the statement
        // returns no row at all: the caller runs it again, and the new snapshot shows the record. Concurrent claimers
        // of one key queue on the key's unique index entry, so exactly one inserts.
        Claim = $"""
            WITH live AS (
                SELECT state, owner_token, fingerprint, payload, expires_at
                FROM {t}
                WHERE key = $1 AND expires_at > clock_timestamp()
            ),
            claimed AS (
                INSERT INTO {t} AS r (key, state, owner_token, fingerprint, payload, format_version, expires_at, created_at)
                SELECT $1, {InFlightState}, $2, $3, NULL, {FormatVersion}, clock_timestamp() + $4 * interval '1 millisecond', clock_timestamp()
                WHERE NOT EXISTS (SELECT FROM live)
                ON CONFLICT (key) DO UPDATE SET
                    state = EXCLUDED.state, owner_token = EXCLUDED.owner_token, fingerprint = EXCLUDED.fingerprint,
                    payload = NULL, format_version = EXCLUDED.format_version, expires_at = EXCLUDED.expires_at,
                    created_at = EXCLUDED.created_at
                WHERE r.expires_at <= EXCLUDED.created_at
                RETURNING expires_at
            )
            SELECT {Claimed} AS status, NULL::bytea AS payload, expires_at, expires_at - clock_timestamp() AS remaining
            FROM claimed
            UNION ALL
            SELECT
                CASE WHEN state = {InFlightState} AND owner_token = $2 THEN {Claimed}
                     WHEN fingerprint <> $3 THEN {Mismatch}
                     WHEN state = {CompletedState} THEN {Completed}
                     ELSE {InFlight} END,
                CASE WHEN state = {CompletedState} AND fingerprint = $3 THEN payload END,
                expires_at,
                expires_at - clock_timestamp()
            FROM live
            """;

        // Transactional mode claims in two statements sent in one round trip (with the BEGIN that Npgsql sends ahead
        // of them). The first takes a transaction-scoped advisory lock on the key ($1, a 64-bit hash) without waiting:
        // whoever holds it is the only transaction that may write the key until it ends. The second, run after the
        // lock (so under Read Committed its snapshot shows everything the previous holder committed), reads the live
        // record: $1 key, $2 fingerprint. Nothing is written at claim time; the record is inserted, already
        // completed, by TransactionalComplete just before COMMIT.
        TransactionalLock = "SELECT pg_try_advisory_xact_lock($1)";
        TransactionalRead = $"""
            SELECT
                CASE WHEN fingerprint <> $2 THEN {Mismatch}
                     WHEN state = {CompletedState} THEN {Completed}
                     ELSE {InFlight} END AS status,
                CASE WHEN state = {CompletedState} AND fingerprint = $2 THEN payload END AS payload,
                expires_at,
                expires_at - clock_timestamp() AS remaining
            FROM {t}
            WHERE key = $1 AND expires_at > clock_timestamp()
            """;

        // Under Repeatable Read and Serializable the transaction's snapshot is taken by its first statement, which would
        // be the lock itself: a duplicate that gets the lock the moment the original commits would read the key through a
        // snapshot taken before that commit, find nothing, and run the handler again. So at those levels the key is
        // locked at session level before the transaction begins, each statement in an implicit transaction of its own
        // (the lock, then TransactionalRead with a snapshot taken after it); the transaction begins after the claim, and
        // its first statement's snapshot shows everything the lock's previous holder committed. Session locks outlive
        // transactions, so the lock is let go of explicitly: with the COMMIT, or when the request ends. A key whose
        // record this statement already sees is not locked at all (the read that follows reports the record), so a
        // replay needs no unlock. $1 the key's 64-bit hash, as for TransactionalLock; $2 the key.
        SessionLock = $"""
            SELECT CASE WHEN EXISTS (SELECT FROM {t} WHERE key = $2 AND expires_at > clock_timestamp()) THEN false
                        ELSE pg_try_advisory_lock($1) END
            """;
        SessionUnlock = "SELECT pg_advisory_unlock($1)";

        // Lets go of every session-level advisory lock of the connection, as Npgsql's pool reset does: used when a claim
        // failed midway and whether it got the lock is unknown (unlocking a lock not held would only warn).
        SessionUnlockAll = "SELECT pg_advisory_unlock_all()";

        // $1 key, $2 fingerprint, $3 payload, $4 retention in milliseconds. Sent in one batch with COMMIT, so the
        // record must be written or the statement must fail (an error skips the COMMIT that follows it). Under the
        // advisory lock no other transactional claimer can write the key, but a plain store claim (which does not take
        // the lock) may have claimed it since this transaction's claim: then the conflicting row is live, the update
        // sets state to NULL, and the NOT NULL constraint fails the statement (NotNullViolation on column "state"),
        // which the caller reports as a lost claim. An expired row is taken over.
        TransactionalComplete = $"""
            INSERT INTO {t} AS r (key, state, owner_token, fingerprint, payload, format_version, expires_at, created_at)
            VALUES ($1, {CompletedState}, NULL, $2, $3, {FormatVersion}, clock_timestamp() + $4 * interval '1 millisecond', now())
            ON CONFLICT (key) DO UPDATE SET
                state = CASE WHEN r.expires_at <= clock_timestamp() THEN EXCLUDED.state END,
                owner_token = NULL, fingerprint = EXCLUDED.fingerprint, payload = EXCLUDED.payload,
                format_version = EXCLUDED.format_version, expires_at = EXCLUDED.expires_at, created_at = EXCLUDED.created_at
            """;

        // $1 key, $2 owner token, $3 payload, $4 retention in milliseconds.
        // Only the owner completes its claim, even after its lease passed, as long as nobody has taken the key over
        // (a take-over replaces the owner token) and the lease ended no more than the grace ago. A completion sent
        // again after its connection broke finds the record completed with exactly its payload (which carries its
        // completion time to the millisecond) if the first one committed: it answers "completed" again (one row), and
        // only starts the retention again.
        Complete = $"""
            UPDATE {t}
            SET state = {CompletedState}, owner_token = NULL, payload = $3,
                expires_at = clock_timestamp() + $4 * interval '1 millisecond'
            WHERE key = $1
              AND ((state = {InFlightState} AND owner_token = $2 AND {heldByItsOwner}) OR (state = {CompletedState} AND payload = $3))
            """;

        // $1 key, $2 owner token. The same rule as the completion.
        Release = $"""
            DELETE FROM {t}
            WHERE key = $1 AND state = {InFlightState} AND owner_token = $2 AND {heldByItsOwner}
            """;

        // Oldest first through the expires_at index; SKIP LOCKED so that instances cleaning at once, and claims that
        // are taking an expired row over right now, never wait on each other. The row lock re-checks the conditions on
        // the row's latest version, so a row re-claimed or completed since the snapshot is left alone. A completed row
        // goes at the end of its retention; an in-flight one only once its owner can no longer complete it (the rows
        // it skips are the few whose lease ended within the grace, at the young end of the index).
        DeleteExpiredBatch = $"""
            DELETE FROM {t}
            WHERE key IN (
                SELECT key FROM {t}
                WHERE expires_at <= clock_timestamp() AND (state = {CompletedState} OR NOT ({heldByItsOwner}))
                ORDER BY expires_at
                LIMIT @BatchSize
                FOR UPDATE SKIP LOCKED)
            """;
    }

    /// <summary>Gets whether the commands of <see cref="PostgreSqlStoreCommands"/> prepare these statements before running them.</summary>
    public bool PrepareStatements { get; }

    public string Schema { get; }

    public string TableName { get; }

    /// <summary>Gets how long after its lease an in-flight claim stays its owner's to complete or release (see <see cref="PostgreSqlIdempotencyStoreOptions.LeaseGracePeriod"/>).</summary>
    public TimeSpan LeaseGracePeriod { get; }

    /// <summary>Gets the quoted, schema-qualified table name, e.g. <c>"public"."idempotency_records"</c>.</summary>
    public string QualifiedTableName { get; }

    /// <summary>Gets the UTF-8 bytes that the advisory lock key of a record of this table hashes before the key (see <see cref="PostgreSqlAdvisoryLocks"/>).</summary>
    public byte[] LockKeyPrefix { get; }

    /// <summary>Gets the claim of the plain store: reports a live record, or claims the key (new or expired).</summary>
    public string Claim { get; }

    /// <summary>Gets the first statement of the transactional claim: the key's advisory lock, without waiting.</summary>
    public string TransactionalLock { get; }

    /// <summary>Gets the second statement of the transactional claim: the key's live record, if any.</summary>
    public string TransactionalRead { get; }

    /// <summary>Gets the session-level lock on the key, taken without waiting (unless the key has a live record) before the transaction of a snapshot isolation level begins.</summary>
    public string SessionLock { get; }

    /// <summary>Gets the release of <see cref="SessionLock"/>.</summary>
    public string SessionUnlock { get; }

    /// <summary>Gets the release of every session-level advisory lock of the connection.</summary>
    public string SessionUnlockAll { get; }

    /// <summary>Gets the completion of transactional mode, which inserts the completed record right before COMMIT.</summary>
    public string TransactionalComplete { get; }

    public string Complete { get; }

    public string Release { get; }

    public string DeleteExpiredBatch { get; }

    // Names are validated as lower-case identifiers before they get here; quoting keeps them from ever being keywords.
    public static string Quote(string identifier) => $"\"{identifier}\"";
}
