using System.Globalization;
using BankLedger.Storage;
using Dapper;
using Idempotency;
using Idempotency.PostgreSql;
using Npgsql;

namespace BankLedger.Ledger;

/// <summary>
/// The ledger in PostgreSQL (<c>Idempotency:Store=postgres</c>). Accounts are rows of <c>bank_accounts</c>; each
/// account's entries are a stream of the library's <see cref="PostgreSqlAppendOnlyStreamStore"/>, each entry holding
/// its amount and the balance after it. Every write is an append-if-last: entry N + 1 is inserted only while entry N
/// is the last, so the balance it carries is always computed from the entry before it, and two writers can never both
/// append after the same entry, whatever the number of instances.
/// </summary>
/// <remarks>
/// Inside a keyed request of an endpoint in the transactional mode every statement runs in the request's transaction
/// (<see cref="PostgreSqlIdempotentTransaction"/>), so the ledger write commits with the key and the stored response,
/// or not at all. Outside one (a request without a key, a test seeding data) writes run in a transaction of their own.
/// </remarks>
public sealed class PostgreSqlLedger(NpgsqlDataSource dataSource, PostgreSqlIdempotentTransaction request, PostgreSqlAppendOnlyStreamStore streams) : ILedger
{
    // Each retry follows a commit by another writer, so the ledger as a whole always progresses; the bound only turns
    // a bug into an error instead of a loop.
    private const int MaxAppendAttempts = 100;
    private const int ReadPageSize = 500;

    public Task<AccountView> OpenAccountAsync(string userId, string owner, CancellationToken cancellationToken) =>
        InTransactionAsync(async (connection, transaction) =>
        {
            var id = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                "INSERT INTO bank_accounts (user_id, owner) VALUES (@userId, @owner) RETURNING id", new { userId, owner }, transaction, cancellationToken: cancellationToken));
            return new AccountView(id, owner, 0, 0);
        }, cancellationToken);

    public Task<AccountView?> GetAccountAsync(string userId, long accountId, CancellationToken cancellationToken) =>
        ReadAsync(async (connection, transaction, entries) =>
        {
            var owner = await OwnerAsync(connection, transaction, userId, accountId, cancellationToken);
            if (owner is null)
            {
                return null;
            }

            var (last, balance) = await HeadAsync(entries, accountId, cancellationToken);
            return new AccountView(accountId, owner, balance, last);
        }, cancellationToken);

    public Task<IReadOnlyList<EntryView>?> GetEntriesAsync(string userId, long accountId, CancellationToken cancellationToken) =>
        ReadAsync(async (connection, transaction, entries) =>
        {
            if (await OwnerAsync(connection, transaction, userId, accountId, cancellationToken) is null)
            {
                return null;
            }

            var views = new List<EntryView>();
            IReadOnlyList<StreamEntry> page;
            do
            {
                page = await entries.ReadAsync(Stream(accountId), views.Count + 1, ReadPageSize, cancellationToken);
                views.AddRange(page.Select(entry => View(entry)));
            }
            while (page.Count == ReadPageSize);

            return (IReadOnlyList<EntryView>?)views;
        }, cancellationToken);

    public Task<LedgerResult<PostingView>> PostAsync(string userId, long accountId, long amount, CancellationToken cancellationToken) =>
        InTransactionAsync<LedgerResult<PostingView>>(async (connection, transaction) =>
        {
            if (await OwnerAsync(connection, transaction, userId, accountId, cancellationToken) is null)
            {
                return LedgerError.AccountNotFound;
            }

            return await AppendAsync(streams.WithTransaction(transaction), accountId, amount, requireFunds: true, cancellationToken);
        }, cancellationToken);

    public Task<EntryAppendResult> AppendIfAsync(string userId, long accountId, Func<long, bool> lastEntryMatches, long amount, string? memo, CancellationToken cancellationToken) =>
        InTransactionAsync(async (connection, transaction) =>
        {
            if (await OwnerAsync(connection, transaction, userId, accountId, cancellationToken) is null)
            {
                return new EntryAppendResult(LedgerError.AccountNotFound, 0, null);
            }

            // Checked in the order ILedger promises: account, condition, funds. The condition is evaluated against the
            // last entry just read, and the store appends only while that entry is still the last: its compare-and-append
            // is what decides. A writer that got in between makes the append fail, and the condition is evaluated again
            // against the new last entry (a request naming one entry then gets the mismatch it should).
            var entries = streams.WithTransaction(transaction);
            for (var attempt = 1; attempt <= MaxAppendAttempts; attempt++)
            {
                var (last, balance) = await HeadAsync(entries, accountId, cancellationToken);
                if (!lastEntryMatches(last))
                {
                    return new EntryAppendResult(LedgerError.LastEntryMismatch, last, null);
                }

                if (LedgerLimits.ExceedsMaxBalance(balance, amount))
                {
                    return new EntryAppendResult(LedgerError.BalanceLimitExceeded, last, null);
                }

                if (balance + amount < 0)
                {
                    return new EntryAppendResult(LedgerError.InsufficientFunds, last, null);
                }

                var write = await entries.AppendIfLastAsync(Stream(accountId), last, new LedgerEntryPayload(amount, balance + amount, memo).ToBytes(), cancellationToken);
                if (write.IsApplied)
                {
                    return new EntryAppendResult(LedgerError.None, write.Version, new PostingView(accountId, write.Version, amount, balance + amount));
                }
            }

            throw Contention(accountId);
        }, cancellationToken);

    public Task<LedgerResult<TransferView>> TransferAsync(string userId, long from, long to, long amount, CancellationToken cancellationToken) =>
        InTransactionAsync<LedgerResult<TransferView>>(async (connection, transaction) =>
        {
            if (from == to)
            {
                return LedgerError.AccountNotFound;
            }

            // Lock both accounts in id order: two transfers between the same accounts in opposite directions would
            // otherwise each append to one stream and wait for the other's uncommitted entry on the second (a deadlock).
            var accounts = (await connection.QueryAsync<(long Id, string UserId)>(new CommandDefinition(
                "SELECT id, user_id FROM bank_accounts WHERE id = ANY(@ids) ORDER BY id FOR UPDATE", new { ids = new[] { from, to } }, transaction, cancellationToken: cancellationToken))).ToList();
            if (!accounts.Any(a => a.Id == from && a.UserId == userId) || !accounts.Any(a => a.Id == to))
            {
                return LedgerError.AccountNotFound;
            }

            // The destination is checked before anything is written: a refusal is a final answer that commits with the
            // key, so it must leave both accounts as they were.
            var entries = streams.WithTransaction(transaction);
            if (LedgerLimits.ExceedsMaxBalance((await HeadAsync(entries, to, cancellationToken)).Balance, amount))
            {
                return LedgerError.BalanceLimitExceeded;
            }

            var debit = await AppendAsync(entries, from, -amount, requireFunds: true, cancellationToken);
            if (debit.Error != LedgerError.None)
            {
                return debit.Error; // nothing written yet
            }

            // Deposits do not take the account's row lock, so one may have filled the destination since the check above:
            // then the whole transaction rolls back (the exception), never the debit alone.
            if ((await AppendAsync(entries, to, amount, requireFunds: false, cancellationToken)).Error != LedgerError.None)
            {
                throw new InvalidOperationException(
                    $"Account {to} filled up to the balance limit while a transfer to it ran; nothing of the transfer was written. Retry it to get the refusal.");
            }

            var id = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                "INSERT INTO bank_transfers (from_account, to_account, amount) VALUES (@from, @to, @amount) RETURNING id", new { from, to, amount }, transaction, cancellationToken: cancellationToken));
            return new TransferView(id, from, to, amount);
        }, cancellationToken);

    /// <summary>
    /// Appends <paramref name="amount"/> after whatever entry is last, reading again after each lost race; nothing is
    /// written when <paramref name="requireFunds"/> and the balance does not cover it
    /// (<see cref="LedgerError.InsufficientFunds"/>), or when the credit would take the balance past
    /// <see cref="LedgerLimits.MaxBalance"/> (<see cref="LedgerError.BalanceLimitExceeded"/>).
    /// </summary>
    private static async Task<LedgerResult<PostingView>> AppendAsync(IAppendOnlyStreamStore entries, long accountId, long amount, bool requireFunds, CancellationToken cancellationToken)
    {
        for (var attempt = 1; attempt <= MaxAppendAttempts; attempt++)
        {
            var (last, balance) = await HeadAsync(entries, accountId, cancellationToken);
            if (LedgerLimits.ExceedsMaxBalance(balance, amount))
            {
                return LedgerError.BalanceLimitExceeded;
            }

            if (requireFunds && balance + amount < 0)
            {
                return LedgerError.InsufficientFunds;
            }

            var write = await entries.AppendIfLastAsync(Stream(accountId), last, new LedgerEntryPayload(amount, balance + amount, null).ToBytes(), cancellationToken);
            if (write.IsApplied)
            {
                return new PostingView(accountId, write.Version, amount, balance + amount);
            }
        }

        throw Contention(accountId);
    }

    /// <summary>The account's last entry and the balance it left; entries never change, so the pair is consistent.</summary>
    private static async Task<(long Last, long Balance)> HeadAsync(IAppendOnlyStreamStore entries, long accountId, CancellationToken cancellationToken)
    {
        var last = await entries.GetLastSequenceAsync(Stream(accountId), cancellationToken);
        if (last == 0)
        {
            return (0, 0);
        }

        var entry = (await entries.ReadAsync(Stream(accountId), last, 1, cancellationToken)).Single();
        return (last, LedgerEntryPayload.FromBytes(entry.Payload).Balance);
    }

    private static Task<string?> OwnerAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string userId, long accountId, CancellationToken cancellationToken) =>
        connection.QuerySingleOrDefaultAsync<string?>(new CommandDefinition(
            "SELECT owner FROM bank_accounts WHERE id = @accountId AND user_id = @userId", new { accountId, userId }, transaction, cancellationToken: cancellationToken));

    private static EntryView View(StreamEntry entry)
    {
        var payload = LedgerEntryPayload.FromBytes(entry.Payload);
        return new EntryView(entry.Sequence, payload.Amount, payload.Balance, payload.Memo);
    }

    private static string Stream(long accountId) => string.Create(CultureInfo.InvariantCulture, $"bank-account:{accountId}");

    private static InvalidOperationException Contention(long accountId) =>
        new($"Could not append to account {accountId} after {MaxAppendAttempts} attempts: every attempt lost to another writer.");

    /// <summary>Runs <paramref name="work"/> in the request's transaction when there is one, else in a transaction of its own.</summary>
    private async Task<T> InTransactionAsync<T>(Func<NpgsqlConnection, NpgsqlTransaction, Task<T>> work, CancellationToken cancellationToken)
    {
        if (request.IsActive)
        {
            return await work(request.Connection, request.Transaction);
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var result = await work(connection, transaction);
        await transaction.CommitAsync(cancellationToken);
        return result;
    }

    /// <summary>Runs <paramref name="work"/> in the request's transaction when there is one, else on a connection of its own.</summary>
    private async Task<T> ReadAsync<T>(Func<NpgsqlConnection, NpgsqlTransaction?, IAppendOnlyStreamStore, Task<T>> work, CancellationToken cancellationToken)
    {
        if (request.IsActive)
        {
            return await work(request.Connection, request.Transaction, streams.WithTransaction(request.Transaction));
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await work(connection, null, streams);
    }
}
