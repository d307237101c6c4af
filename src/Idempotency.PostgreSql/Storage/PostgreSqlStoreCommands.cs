using Npgsql;

namespace Idempotency.PostgreSql;

/// <summary>
/// The store's statements, run on a given connection and (in transactional mode) transaction. Shared by the store,
/// which opens a pooled connection per operation, and by the transactional request store.
/// </summary>
/// <remarks>
/// These are the hot path of every keyed request, so they use Npgsql directly rather than Dapper: each command is
/// prepared (unless <see cref="PostgreSqlIdempotencyStoreOptions.PrepareStatements"/> is off), which Npgsql keeps per
/// physical connection across pool rentals (the first use on a connection parses and plans the statement; every
/// later one only binds and executes it), and parameters bind without boxing or copying.
/// </remarks>
internal static class PostgreSqlStoreCommands
{
    // A claim that meets a record committed after its snapshot returns no row and is run again (see
    // PostgreSqlStoreSql.Claim). The next snapshot shows that record, so a second attempt settles it unless the key
    // changes hands again in between; the bound only stops a pathological loop.
    private const int MaxClaimAttempts = 5;

    public static async Task<IdempotencyClaimResult> ClaimAsync(
        NpgsqlConnection connection, PostgreSqlStoreSql sql, IdempotencyClaimRequest request, CancellationToken cancellationToken)
    {
        var command = new NpgsqlCommand(sql.Claim, connection)
        {
            Parameters =
            {
                new NpgsqlParameter<string> { TypedValue = request.Key },
                new NpgsqlParameter<string> { TypedValue = request.OwnerToken },
                new NpgsqlParameter<ReadOnlyMemory<byte>> { TypedValue = request.Fingerprint, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Bytea },
                new NpgsqlParameter<double> { TypedValue = request.LeaseDuration.TotalMilliseconds },
            },
        };
        await using var commandDisposal = command.ConfigureAwait(false);
        await PrepareAsync(command, sql, cancellationToken).ConfigureAwait(false);

        for (var attempt = 1; ; attempt++)
        {
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using var readerDisposal = reader.ConfigureAwait(false);
            if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return ReadClaim(reader);
            }

            if (attempt == MaxClaimAttempts)
            {
                throw new IdempotencyStoreException(
                    $"The PostgreSQL idempotency store could not claim a key: {MaxClaimAttempts} attempts in a row met a record of the key " +
                    "that changed hands between the statement's snapshot and its insert. Something is claiming and deleting this key in a loop.");
            }
        }
    }

    /// <summary>
    /// The transactional claim under Read Committed, in one round trip with the transaction's BEGIN: the key's
    /// transaction-scoped advisory lock (without waiting), then the live record, read by a statement of its own whose
    /// snapshot comes after the lock. A live record is reported as it is (replay, mismatch, or in flight); without one,
    /// the lock decides: held, the key is this transaction's; not held, another transaction is running this key and
    /// nothing is committed yet.
    /// </summary>
    public static async Task<IdempotencyClaimResult> ClaimInTransactionAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, PostgreSqlStoreSql sql, IdempotencyClaimRequest request, CancellationToken cancellationToken)
    {
        var batch = new NpgsqlBatch(connection, transaction)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand(sql.TransactionalLock)
                {
                    Parameters = { new NpgsqlParameter<long> { TypedValue = LockKey(sql, request.Key) } },
                },
                new NpgsqlBatchCommand(sql.TransactionalRead)
                {
                    Parameters =
                    {
                        new NpgsqlParameter<string> { TypedValue = request.Key },
                        new NpgsqlParameter<ReadOnlyMemory<byte>> { TypedValue = request.Fingerprint, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Bytea },
                    },
                },
            },
        };
        await using var batchDisposal = batch.ConfigureAwait(false);
        await PrepareAsync(batch, sql, cancellationToken).ConfigureAwait(false);

        // Read here rather than through ReadLockAndRecordAsync: one async state machine less on every request.
        var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerDisposal = reader.ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        var locked = reader.GetBoolean(0);
        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadClaim(reader) : ClaimWithoutRecord(request, locked);
    }

    /// <summary>
    /// The transactional claim for isolation levels with a transaction-wide snapshot (Repeatable Read, Serializable),
    /// in one round trip and outside any transaction: the key's session-level advisory lock (without waiting, and only
    /// when the key has no live record yet), then the live record, each statement in an implicit transaction of its own,
    /// so the read's snapshot comes after the lock.
    /// The caller begins the request's transaction after a claim, and must let go of the lock (<see cref="PostgreSqlStoreSql.SessionUnlock"/>)
    /// whenever <c>Locked</c> is true.
    /// </summary>
    /// <param name="connection">The request's connection, with no transaction begun.</param>
    /// <param name="sql">The table's statements.</param>
    /// <param name="request">The claim.</param>
    /// <param name="lockHeld">Whether an earlier claim of this request holds the lock already: then only the record is read.</param>
    /// <param name="cancellationToken">Cancels the round trip.</param>
    public static async Task<(IdempotencyClaimResult Claim, bool Locked)> ClaimBeforeTransactionAsync(
        NpgsqlConnection connection, PostgreSqlStoreSql sql, IdempotencyClaimRequest request, bool lockHeld, CancellationToken cancellationToken)
    {
        var batch = new NpgsqlBatch(connection)
        {
            // A Sync after each statement: each runs in an implicit transaction of its own, whatever the session's
            // default isolation level, so the read takes its snapshot after the lock is granted.
            EnableErrorBarriers = true,
        };
        await using var batchDisposal = batch.ConfigureAwait(false);
        if (!lockHeld)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand(sql.SessionLock)
            {
                Parameters =
                {
                    new NpgsqlParameter<long> { TypedValue = LockKey(sql, request.Key) },
                    new NpgsqlParameter<string> { TypedValue = request.Key },
                },
            });
        }

        batch.BatchCommands.Add(new NpgsqlBatchCommand(sql.TransactionalRead)
        {
            Parameters =
            {
                new NpgsqlParameter<string> { TypedValue = request.Key },
                new NpgsqlParameter<ReadOnlyMemory<byte>> { TypedValue = request.Fingerprint, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Bytea },
            },
        });
        await PrepareAsync(batch, sql, cancellationToken).ConfigureAwait(false);

        return await ReadLockAndRecordAsync(batch, request, lockHeld ? true : null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Inserts the completed record and commits the transaction, in one round trip; with <paramref name="sessionLock"/>,
    /// lets go of that session-level lock right after the COMMIT, in the same round trip. Throws a <see cref="PostgresException"/>
    /// whose <c>BatchCommand</c> says which statement failed (the ones after it did not run); see <see cref="IsClaimedElsewhere"/>.
    /// </summary>
    public static async Task CompleteAndCommitAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, PostgreSqlStoreSql sql, IdempotencyClaimRequest claim, IdempotencyCompleteRequest request,
        bool sessionLock, CancellationToken cancellationToken)
    {
        var batch = new NpgsqlBatch(connection, transaction)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand(sql.TransactionalComplete)
                {
                    Parameters =
                    {
                        new NpgsqlParameter<string> { TypedValue = request.Key },
                        new NpgsqlParameter<ReadOnlyMemory<byte>> { TypedValue = claim.Fingerprint, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Bytea },
                        new NpgsqlParameter<ReadOnlyMemory<byte>> { TypedValue = request.Payload, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Bytea },
                        new NpgsqlParameter<double> { TypedValue = request.Retention.TotalMilliseconds },
                    },
                },
                new NpgsqlBatchCommand("COMMIT"),
            },
        };
        await using var batchDisposal = batch.ConfigureAwait(false);
        if (sessionLock)
        {
            // After the COMMIT, so that whoever gets the lock next sees the record.
            batch.BatchCommands.Add(SessionUnlockCommand(sql, claim.Key));
        }

        await PrepareAsync(batch, sql, cancellationToken).ConfigureAwait(false);

        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Lets go of the session-level lock of <paramref name="key"/> taken by <see cref="ClaimBeforeTransactionAsync"/>,
    /// or, when whether it was taken is unknown (<paramref name="key"/> is <see langword="null"/>), of every session-level
    /// advisory lock of the connection. Outside any transaction: call it after COMMIT or ROLLBACK.
    /// </summary>
    public static async Task UnlockSessionAsync(NpgsqlConnection connection, PostgreSqlStoreSql sql, string? key, CancellationToken cancellationToken)
    {
        var batch = new NpgsqlBatch(connection)
        {
            BatchCommands = { key is null ? new NpgsqlBatchCommand(sql.SessionUnlockAll) : SessionUnlockCommand(sql, key) },
        };
        await using var batchDisposal = batch.ConfigureAwait(false);
        await PrepareAsync(batch, sql, cancellationToken).ConfigureAwait(false);

        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Whether <paramref name="exception"/> is the transactional completion refusing to overwrite a live record that a
    /// plain store claim wrote since this transaction's claim (see <see cref="PostgreSqlStoreSql.TransactionalComplete"/>).
    /// </summary>
    public static bool IsClaimedElsewhere(PostgresException exception, PostgreSqlStoreSql sql) =>
        exception is { SqlState: PostgresErrorCodes.NotNullViolation, ColumnName: "state" }
        && exception.SchemaName == sql.Schema
        && exception.TableName == sql.TableName;

    public static async Task<CompletionStatus> CompleteAsync(
        NpgsqlConnection connection, PostgreSqlStoreSql sql, IdempotencyCompleteRequest request, CancellationToken cancellationToken)
    {
        var command = new NpgsqlCommand(sql.Complete, connection)
        {
            Parameters =
            {
                new NpgsqlParameter<string> { TypedValue = request.Key },
                new NpgsqlParameter<string> { TypedValue = request.OwnerToken },
                new NpgsqlParameter<ReadOnlyMemory<byte>> { TypedValue = request.Payload, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Bytea },
                new NpgsqlParameter<double> { TypedValue = request.Retention.TotalMilliseconds },
            },
        };
        await using var commandDisposal = command.ConfigureAwait(false);
        await PrepareAsync(command, sql, cancellationToken).ConfigureAwait(false);

        var updated = await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        return updated == 1 ? CompletionStatus.Completed : CompletionStatus.ClaimLost;
    }

    public static async Task<bool> ReleaseAsync(
        NpgsqlConnection connection, PostgreSqlStoreSql sql, string key, string ownerToken, CancellationToken cancellationToken)
    {
        var command = new NpgsqlCommand(sql.Release, connection)
        {
            Parameters =
            {
                new NpgsqlParameter<string> { TypedValue = key },
                new NpgsqlParameter<string> { TypedValue = ownerToken },
            },
        };
        await using var commandDisposal = command.ConfigureAwait(false);
        await PrepareAsync(command, sql, cancellationToken).ConfigureAwait(false);

        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    /// <summary>The 64-bit advisory lock key of <paramref name="key"/> in this table, the same for transaction and session locks.</summary>
    private static long LockKey(PostgreSqlStoreSql sql, string key) => PostgreSqlAdvisoryLocks.For(sql.LockKeyPrefix, key);

    private static NpgsqlBatchCommand SessionUnlockCommand(PostgreSqlStoreSql sql, string key) => new(sql.SessionUnlock)
    {
        Parameters = { new NpgsqlParameter<long> { TypedValue = LockKey(sql, key) } },
    };

    // Results: whether the lock was granted (unless already known), then the live record if any. A live record is
    // reported as it is (replay, mismatch, or in flight); without one, the lock decides: granted, the key is this
    // request's; not granted, another request is running the key and has committed nothing yet.
    private static async Task<(IdempotencyClaimResult Claim, bool Locked)> ReadLockAndRecordAsync(
        NpgsqlBatch batch, IdempotencyClaimRequest request, bool? knownLock, CancellationToken cancellationToken)
    {
        var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerDisposal = reader.ConfigureAwait(false);
        bool locked;
        if (knownLock is { } known)
        {
            locked = known;
        }
        else
        {
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            locked = reader.GetBoolean(0);
            await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        }

        if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            return (ReadClaim(reader), locked);
        }

        return (ClaimWithoutRecord(request, locked), locked);
    }

    // No live record: the lock decides. The lease plays no part in transactional mode: the request holds the key for as
    // long as its transaction lasts.
    private static IdempotencyClaimResult ClaimWithoutRecord(IdempotencyClaimRequest request, bool locked) => locked
        ? IdempotencyClaimResult.Claimed(DateTimeOffset.UtcNow + request.LeaseDuration)
        : IdempotencyClaimResult.InFlight(request.LeaseDuration);

    private static Task PrepareAsync(NpgsqlCommand command, PostgreSqlStoreSql sql, CancellationToken cancellationToken) =>
        sql.PrepareStatements ? command.PrepareAsync(cancellationToken) : Task.CompletedTask;

    private static Task PrepareAsync(NpgsqlBatch batch, PostgreSqlStoreSql sql, CancellationToken cancellationToken) =>
        sql.PrepareStatements ? batch.PrepareAsync(cancellationToken) : Task.CompletedTask;

    // Columns: status, payload, expires_at, remaining.
    private static IdempotencyClaimResult ReadClaim(NpgsqlDataReader reader) => (ClaimStatus)reader.GetInt32(0) switch
    {
        ClaimStatus.Claimed => IdempotencyClaimResult.Claimed(new DateTimeOffset(reader.GetDateTime(2), TimeSpan.Zero)),
        ClaimStatus.InFlight => IdempotencyClaimResult.InFlight(reader.GetTimeSpan(3)),
        ClaimStatus.Completed => IdempotencyClaimResult.Completed(reader.IsDBNull(1) ? [] : reader.GetFieldValue<byte[]>(1)),
        _ => IdempotencyClaimResult.FingerprintMismatch(),
    };
}
