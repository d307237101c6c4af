using BankLedger.Queue;
using Dapper;
using Npgsql;

namespace BankLedger.Storage;

/// <summary>
/// Creates the ledger's own tables at start-up. The entries themselves live in the library's stream table
/// (created by <c>AddPostgreSqlConditionalWrites</c>): one stream per account. Instances starting together take turns
/// through an advisory lock, because concurrent <c>CREATE TABLE IF NOT EXISTS</c> can fail on the catalogs. The transfer
/// queue's tables (<see cref="TransferQueue.Script"/>) are created with them.
/// </summary>
public sealed class PostgreSqlLedgerSchema(NpgsqlDataSource dataSource) : IHostedService
{
    public const string Script = """
        CREATE TABLE IF NOT EXISTS bank_accounts (
            id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            user_id  text NOT NULL,
            owner    text NOT NULL
        );
        CREATE TABLE IF NOT EXISTS bank_transfers (
            id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            from_account  bigint NOT NULL REFERENCES bank_accounts (id),
            to_account    bigint NOT NULL REFERENCES bank_accounts (id),
            amount        bigint NOT NULL CHECK (amount > 0)
        );
        """;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_xact_lock(hashtext('BankLedger schema'))", transaction: transaction, cancellationToken: cancellationToken));
        await connection.ExecuteAsync(new CommandDefinition(Script + TransferQueue.Script, transaction: transaction, cancellationToken: cancellationToken));
        await transaction.CommitAsync(cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
