using Dapper;
using Npgsql;

namespace BankLedger.Queue;

/// <summary>
/// The queue of transfer commands: a table in the ledger's database (<c>bank_transfer_queue</c>), one row per delivery.
/// A take reserves a batch for a visibility timeout (<c>FOR UPDATE SKIP LOCKED</c>, so concurrent workers never take the
/// same rows), and a command's row is deleted in the same transaction as its effect: a worker that dies before that
/// commit leaves the row, which becomes visible again when its timeout passes.
/// </summary>
/// <remarks>
/// Visibility is measured on the database's clock (<c>now()</c>), the one clock every worker on every machine shares:
/// a worker's own clock, ahead of the others', would take their commands back early.
/// </remarks>
public sealed class TransferQueue(NpgsqlDataSource dataSource)
{
    public const string Script = """
        CREATE TABLE IF NOT EXISTS bank_transfer_queue (
            id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            message_id  text NOT NULL,
            payload     bytea NOT NULL,
            attempts    integer NOT NULL DEFAULT 0,
            visible_at  timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX IF NOT EXISTS bank_transfer_queue_visible ON bank_transfer_queue (visible_at, id);
        CREATE TABLE IF NOT EXISTS bank_transfer_dead_letters (
            id          bigint PRIMARY KEY,
            message_id  text NOT NULL,
            payload     bytea NOT NULL,
            attempts    integer NOT NULL,
            reason      text NOT NULL,
            failed_at   timestamptz NOT NULL DEFAULT now()
        );
        """;

    /// <summary>Puts a command on the queue under <paramref name="messageId"/>, the producer's id of the message.</summary>
    /// <returns>The new row's id.</returns>
    public async Task<long> EnqueueAsync(string messageId, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(messageId);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "INSERT INTO bank_transfer_queue (message_id, payload) VALUES (@messageId, @payload) RETURNING id",
            new { messageId, payload = payload.ToArray() },
            cancellationToken: cancellationToken));
    }

    /// <summary>
    /// Takes up to <paramref name="batchSize"/> visible commands, oldest first, and hides them for
    /// <paramref name="visibilityTimeout"/>; rows another worker is taking at the same moment are skipped, not waited for.
    /// </summary>
    public async Task<IReadOnlyList<QueuedCommand>> TakeAsync(int batchSize, TimeSpan visibilityTimeout, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var taken = await connection.QueryAsync<QueuedCommand>(new CommandDefinition(
            """
            UPDATE bank_transfer_queue AS q
            SET visible_at = now() + @visibilityTimeout, attempts = q.attempts + 1
            FROM (SELECT id FROM bank_transfer_queue WHERE visible_at <= now() ORDER BY id LIMIT @batchSize FOR UPDATE SKIP LOCKED) AS next
            WHERE q.id = next.id
            RETURNING q.id, q.message_id AS MessageId, q.payload, q.attempts
            """,
            new { batchSize, visibilityTimeout },
            cancellationToken: cancellationToken));
        return taken.OrderBy(c => c.Id).ToList();
    }

    /// <summary>Deletes a command's row in <paramref name="transaction"/>: it is acknowledged when that transaction commits.</summary>
    public static Task AcknowledgeAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, long id, CancellationToken cancellationToken) =>
        connection.ExecuteAsync(new CommandDefinition("DELETE FROM bank_transfer_queue WHERE id = @id", new { id }, transaction, cancellationToken: cancellationToken));

    /// <summary>Deletes a command's row on its own (a redelivery of a command already applied).</summary>
    public async Task AcknowledgeAsync(long id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition("DELETE FROM bank_transfer_queue WHERE id = @id", new { id }, cancellationToken: cancellationToken));
    }

    /// <summary>Makes a taken command visible again after <paramref name="delay"/> instead of its full timeout.</summary>
    public async Task DeferAsync(long id, TimeSpan delay, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE bank_transfer_queue SET visible_at = now() + @delay WHERE id = @id", new { id, delay }, cancellationToken: cancellationToken));
    }

    /// <summary>Moves a command that cannot be applied to <c>bank_transfer_dead_letters</c>, with the reason, in one statement.</summary>
    public async Task DeadLetterAsync(long id, string reason, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            """
            WITH moved AS (DELETE FROM bank_transfer_queue WHERE id = @id RETURNING id, message_id, payload, attempts)
            INSERT INTO bank_transfer_dead_letters (id, message_id, payload, attempts, reason)
            SELECT id, message_id, payload, attempts, @reason FROM moved
            """,
            new { id, reason },
            cancellationToken: cancellationToken));
    }
}
