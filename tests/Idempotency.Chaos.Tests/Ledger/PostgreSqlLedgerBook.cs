using Idempotency.PostgreSql;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using NpgsqlTypes;

namespace Idempotency.Chaos.Tests.Ledger;

/// <summary>
/// The ledger in PostgreSQL, one row per applied posting, written through the request's idempotency transaction
/// (<see cref="PostgreSqlIdempotentTransaction"/>): the claim, the posting and the stored response commit together or
/// not at all. A request that somehow ran without the transaction writes on its own connection, with no key.
/// </summary>
internal sealed class PostgreSqlLedgerBook(string connectionString, int incarnation) : ILedgerBook
{
    private const string Table = "chaos_ledger";

    public static async Task CreateTableAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            $"""
            CREATE TABLE IF NOT EXISTS {Table} (
                id bigserial PRIMARY KEY,
                operation text NOT NULL,
                key text,
                incarnation int NOT NULL,
                at timestamptz NOT NULL DEFAULT clock_timestamp(),
                accounts text[] NOT NULL,
                deltas bigint[] NOT NULL)
            """,
            connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Every committed posting, oldest first.</summary>
    public static async Task<IReadOnlyList<AppliedEffect>> ReadAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"SELECT incarnation, at, operation, key, accounts, deltas FROM {Table} ORDER BY id", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var effects = new List<AppliedEffect>();
        while (await reader.ReadAsync())
        {
            var accounts = reader.GetFieldValue<string[]>(4);
            var deltas = reader.GetFieldValue<long[]>(5);
            effects.Add(new AppliedEffect(
                reader.GetInt32(0),
                reader.GetFieldValue<DateTimeOffset>(1),
                reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetString(3),
                [.. accounts.Zip(deltas, (a, d) => new LedgerLeg(a, d))]));
        }

        return effects;
    }

    public static LedgerTally Tally(IReadOnlyList<AppliedEffect> effects) => new(
        effects.GroupBy(e => e.OperationId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal),
        effects.Count,
        effects.Count(e => e.Key is null));

    public async ValueTask ApplyAsync(HttpContext context, LedgerPosting posting, CancellationToken cancellationToken)
    {
        var transaction = context.RequestServices.GetRequiredService<PostgreSqlIdempotentTransaction>();
        if (transaction.IsActive)
        {
            await InsertAsync(transaction.Connection, transaction.Transaction, posting, cancellationToken);
            return;
        }

        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await InsertAsync(connection, null, posting with { Key = null }, cancellationToken);
    }

    public async Task<long?> BalanceAsync(string account)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            $"SELECT coalesce(sum(u.delta), 0)::bigint FROM {Table}, unnest(accounts, deltas) AS u(account, delta) WHERE u.account = @account",
            connection);
        command.Parameters.AddWithValue("account", account);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private async Task InsertAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, LedgerPosting posting, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            $"INSERT INTO {Table} (operation, key, incarnation, accounts, deltas) VALUES (@operation, @key, @incarnation, @accounts, @deltas)",
            connection,
            transaction);
        command.Parameters.AddWithValue("operation", posting.OperationId);
        command.Parameters.Add(new NpgsqlParameter("key", NpgsqlDbType.Text) { Value = (object?)posting.Key ?? DBNull.Value });
        command.Parameters.AddWithValue("incarnation", incarnation);
        command.Parameters.AddWithValue("accounts", posting.Legs.Select(l => l.Account).ToArray());
        command.Parameters.AddWithValue("deltas", posting.Legs.Select(l => l.Delta).ToArray());
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
