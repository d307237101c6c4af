namespace BankLedger.Ledger;

/// <summary>The ledger in process memory, under one lock: the one-command demo. Restarting the service empties it.</summary>
public sealed class InMemoryLedger : ILedger
{
    private readonly Lock _lock = new();
    private readonly Dictionary<long, Account> _accounts = [];
    private long _nextAccountId = 1;
    private long _nextTransferId = 1;

    public Task<AccountView> OpenAccountAsync(string userId, string owner, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var account = new Account(_nextAccountId++, userId, owner);
            _accounts.Add(account.Id, account);
            return Task.FromResult(account.View());
        }
    }

    public Task<AccountView?> GetAccountAsync(string userId, long accountId, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return Task.FromResult(Find(userId, accountId)?.View());
        }
    }

    public Task<IReadOnlyList<EntryView>?> GetEntriesAsync(string userId, long accountId, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return Task.FromResult<IReadOnlyList<EntryView>?>(Find(userId, accountId)?.Entries.ToArray());
        }
    }

    public Task<LedgerResult<PostingView>> PostAsync(string userId, long accountId, long amount, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var account = Find(userId, accountId);
            if (account is null)
            {
                return Task.FromResult<LedgerResult<PostingView>>(LedgerError.AccountNotFound);
            }

            if (LedgerLimits.ExceedsMaxBalance(account.Balance, amount))
            {
                return Task.FromResult<LedgerResult<PostingView>>(LedgerError.BalanceLimitExceeded);
            }

            if (account.Balance + amount < 0)
            {
                return Task.FromResult<LedgerResult<PostingView>>(LedgerError.InsufficientFunds);
            }

            var entry = account.Append(amount);
            return Task.FromResult<LedgerResult<PostingView>>(new PostingView(account.Id, entry.Entry, amount, entry.Balance));
        }
    }

    public Task<EntryAppendResult> AppendIfAsync(string userId, long accountId, Func<long, bool> lastEntryMatches, long amount, string? memo, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var account = Find(userId, accountId);
            if (account is null)
            {
                return Task.FromResult(new EntryAppendResult(LedgerError.AccountNotFound, 0, null));
            }

            // Compare and append under the same lock: a check before taking it would let two requests both pass.
            if (!lastEntryMatches(account.Entries.Count))
            {
                return Task.FromResult(new EntryAppendResult(LedgerError.LastEntryMismatch, account.Entries.Count, null));
            }

            if (LedgerLimits.ExceedsMaxBalance(account.Balance, amount))
            {
                return Task.FromResult(new EntryAppendResult(LedgerError.BalanceLimitExceeded, account.Entries.Count, null));
            }

            if (account.Balance + amount < 0)
            {
                return Task.FromResult(new EntryAppendResult(LedgerError.InsufficientFunds, account.Entries.Count, null));
            }

            var entry = account.Append(amount, memo);
            return Task.FromResult(new EntryAppendResult(LedgerError.None, entry.Entry, new PostingView(account.Id, entry.Entry, amount, entry.Balance)));
        }
    }

    public Task<LedgerResult<TransferView>> TransferAsync(string userId, long from, long to, long amount, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var source = Find(userId, from);
            if (source is null || !_accounts.TryGetValue(to, out var destination) || from == to)
            {
                return Task.FromResult<LedgerResult<TransferView>>(LedgerError.AccountNotFound);
            }

            if (source.Balance < amount)
            {
                return Task.FromResult<LedgerResult<TransferView>>(LedgerError.InsufficientFunds);
            }

            if (LedgerLimits.ExceedsMaxBalance(destination.Balance, amount))
            {
                return Task.FromResult<LedgerResult<TransferView>>(LedgerError.BalanceLimitExceeded);
            }

            source.Append(-amount);
            destination.Append(amount);
            return Task.FromResult<LedgerResult<TransferView>>(new TransferView(_nextTransferId++, from, to, amount));
        }
    }

    private Account? Find(string userId, long accountId) =>
        _accounts.TryGetValue(accountId, out var account) && account.UserId == userId ? account : null;

    private sealed class Account(long id, string userId, string owner)
    {
        public long Id { get; } = id;

        public string UserId { get; } = userId;

        public string Owner { get; } = owner;

        public long Balance { get; private set; }

        public List<EntryView> Entries { get; } = [];

        public EntryView Append(long amount, string? memo = null)
        {
            Balance += amount;
            var entry = new EntryView(Entries.Count + 1, amount, Balance, memo);
            Entries.Add(entry);
            return entry;
        }

        public AccountView View() => new(Id, Owner, Balance, Entries.Count);
    }
}
