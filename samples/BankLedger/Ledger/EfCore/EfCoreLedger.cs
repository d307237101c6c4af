using System.Globalization;
using BankLedger.Storage;
using Microsoft.EntityFrameworkCore;

namespace BankLedger.Ledger.EfCore;

/// <summary>
/// The ledger on EF Core (<c>Idempotency:Store=efcore</c>), over the same tables as <see cref="PostgreSqlLedger"/>.
/// Every write first locks the accounts it touches (<c>SELECT ... FOR UPDATE</c>, in id order), then reads the last
/// entry and adds the next one: writers to one account take turns, whatever the number of instances, and each balance
/// is computed from the entry before it. The stream's primary key refuses a second entry N + 1 all the same.
/// </summary>
/// <remarks>
/// Inside a keyed request of an endpoint in the EF Core transactional mode the context already has the request's
/// transaction: the ledger's changes stay pending on it and commit with the key and the stored response, or not at all.
/// Outside one (a request without a key, a test seeding data) each write runs in a transaction of its own.
/// </remarks>
public sealed class EfCoreLedger(LedgerDbContext db) : ILedger
{
    public Task<AccountView> OpenAccountAsync(string userId, string owner, CancellationToken cancellationToken) =>
        InTransactionAsync(async () =>
        {
            var account = new BankAccountRow { UserId = userId, Owner = owner };
            db.Accounts.Add(account);
            await db.SaveChangesAsync(cancellationToken); // the identity
            return new AccountView(account.Id, owner, 0, 0);
        }, cancellationToken);

    public async Task<AccountView?> GetAccountAsync(string userId, long accountId, CancellationToken cancellationToken)
    {
        var owner = await db.Accounts.AsNoTracking().Where(a => a.Id == accountId && a.UserId == userId).Select(a => a.Owner).SingleOrDefaultAsync(cancellationToken);
        if (owner is null)
        {
            return null;
        }

        var (last, balance) = await HeadAsync(accountId, cancellationToken);
        return new AccountView(accountId, owner, balance, last);
    }

    public async Task<IReadOnlyList<EntryView>?> GetEntriesAsync(string userId, long accountId, CancellationToken cancellationToken)
    {
        if (!await db.Accounts.AsNoTracking().AnyAsync(a => a.Id == accountId && a.UserId == userId, cancellationToken))
        {
            return null;
        }

        var stream = Stream(accountId);
        var rows = await db.Entries.AsNoTracking().Where(e => e.Stream == stream).OrderBy(e => e.Sequence).ToListAsync(cancellationToken);
        return rows.Select(row =>
        {
            var payload = LedgerEntryPayload.FromBytes(row.Payload);
            return new EntryView(row.Sequence, payload.Amount, payload.Balance, payload.Memo);
        }).ToList();
    }

    public Task<LedgerResult<PostingView>> PostAsync(string userId, long accountId, long amount, CancellationToken cancellationToken) =>
        InTransactionAsync<LedgerResult<PostingView>>(async () =>
        {
            if (!(await LockAsync([accountId], cancellationToken)).Any(a => a.Id == accountId && a.UserId == userId))
            {
                return LedgerError.AccountNotFound;
            }

            return await AppendAsync(accountId, amount, memo: null, requireFunds: true, cancellationToken);
        }, cancellationToken);

    public Task<EntryAppendResult> AppendIfAsync(string userId, long accountId, Func<long, bool> lastEntryMatches, long amount, string? memo, CancellationToken cancellationToken) =>
        InTransactionAsync(async () =>
        {
            // Checked in the order ILedger promises: account, condition, funds; the account's lock makes the last entry
            // read here the one the new entry follows.
            if (!(await LockAsync([accountId], cancellationToken)).Any(a => a.Id == accountId && a.UserId == userId))
            {
                return new EntryAppendResult(LedgerError.AccountNotFound, 0, null);
            }

            var (last, balance) = await HeadAsync(accountId, cancellationToken);
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

            var posting = Add(accountId, last, balance, amount, memo);
            return new EntryAppendResult(LedgerError.None, posting.Entry, posting);
        }, cancellationToken);

    public Task<LedgerResult<TransferView>> TransferAsync(string userId, long from, long to, long amount, CancellationToken cancellationToken) =>
        InTransactionAsync<LedgerResult<TransferView>>(async () =>
        {
            if (from == to)
            {
                return LedgerError.AccountNotFound;
            }

            var accounts = await LockAsync([from, to], cancellationToken);
            if (!accounts.Any(a => a.Id == from && a.UserId == userId) || !accounts.Any(a => a.Id == to))
            {
                return LedgerError.AccountNotFound;
            }

            // The destination is checked before anything is added (both rows are locked, so it cannot change): a refusal
            // is a final answer that commits with the key, so it must leave both accounts as they were.
            if (LedgerLimits.ExceedsMaxBalance((await HeadAsync(to, cancellationToken)).Balance, amount))
            {
                return LedgerError.BalanceLimitExceeded;
            }

            var debit = await AppendAsync(from, -amount, memo: null, requireFunds: true, cancellationToken);
            if (debit.Error != LedgerError.None)
            {
                return debit.Error; // nothing added
            }

            await AppendAsync(to, amount, memo: null, requireFunds: false, cancellationToken);
            var transfer = new BankTransferRow { FromAccount = from, ToAccount = to, Amount = amount };
            db.Transfers.Add(transfer);
            await db.SaveChangesAsync(cancellationToken); // the identity
            return new TransferView(transfer.Id, from, to, amount);
        }, cancellationToken);

    /// <summary>
    /// Locks the accounts' rows until the transaction ends, in id order (two transfers in opposite directions would
    /// otherwise deadlock), and returns those that exist.
    /// </summary>
    private Task<List<BankAccountRow>> LockAsync(long[] ids, CancellationToken cancellationToken) =>
        db.Accounts.FromSql($"SELECT id, user_id, owner FROM bank_accounts WHERE id = ANY({ids}) ORDER BY id FOR UPDATE").AsNoTracking().ToListAsync(cancellationToken);

    /// <summary>
    /// Adds the account's next entry after its last one; nothing is added when <paramref name="requireFunds"/> and the
    /// balance does not cover it (<see cref="LedgerError.InsufficientFunds"/>), or when the credit would take the
    /// balance past <see cref="LedgerLimits.MaxBalance"/> (<see cref="LedgerError.BalanceLimitExceeded"/>).
    /// </summary>
    private async Task<LedgerResult<PostingView>> AppendAsync(long accountId, long amount, string? memo, bool requireFunds, CancellationToken cancellationToken)
    {
        var (last, balance) = await HeadAsync(accountId, cancellationToken);
        if (LedgerLimits.ExceedsMaxBalance(balance, amount))
        {
            return LedgerError.BalanceLimitExceeded;
        }

        return requireFunds && balance + amount < 0 ? LedgerError.InsufficientFunds : Add(accountId, last, balance, amount, memo);
    }

    private PostingView Add(long accountId, long last, long balance, long amount, string? memo)
    {
        db.Entries.Add(new LedgerEntryRow { Stream = Stream(accountId), Sequence = last + 1, Payload = new LedgerEntryPayload(amount, balance + amount, memo).ToBytes() });
        return new PostingView(accountId, last + 1, amount, balance + amount);
    }

    /// <summary>The account's last saved entry and the balance it left (0, 0 without entries).</summary>
    private async Task<(long Last, long Balance)> HeadAsync(long accountId, CancellationToken cancellationToken)
    {
        var stream = Stream(accountId);
        var last = await db.Entries.AsNoTracking().Where(e => e.Stream == stream).OrderByDescending(e => e.Sequence).FirstOrDefaultAsync(cancellationToken);
        return last is null ? (0, 0) : (last.Sequence, LedgerEntryPayload.FromBytes(last.Payload).Balance);
    }

    private static string Stream(long accountId) => string.Create(CultureInfo.InvariantCulture, $"bank-account:{accountId}");

    /// <summary>
    /// Runs <paramref name="work"/> and saves its changes: in the request's transaction when the unit of work began one
    /// (it commits them with the key and the response), else in a transaction of its own.
    /// </summary>
    private async Task<T> InTransactionAsync<T>(Func<Task<T>> work, CancellationToken cancellationToken)
    {
        if (db.Database.CurrentTransaction is not null)
        {
            var result = await work();
            await db.SaveChangesAsync(cancellationToken);
            return result;
        }

        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        try
        {
            var result = await work();
            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return result;
        }
        catch
        {
            db.ChangeTracker.Clear(); // never save a failed write's changes later by accident
            throw;
        }
    }
}
