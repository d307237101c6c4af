namespace Idempotency.Chaos.Tests.Ledger;

/// <summary>
/// The ledger in process memory, for tests that run the service in their own process: balances, and how many times each
/// operation was executed, with or without an idempotency key.
/// </summary>
internal sealed class MemoryLedgerBook : ILedgerBook
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, long> _balances = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _executions = new(StringComparer.Ordinal);
    private int _total;
    private int _withoutKey;

    /// <summary>Gets the number of executions of all operations.</summary>
    public int TotalExecutions
    {
        get
        {
            lock (_lock)
            {
                return _total;
            }
        }
    }

    /// <summary>Gets the number of executions that ran without a claimed idempotency key.</summary>
    public int ExecutionsWithoutKey
    {
        get
        {
            lock (_lock)
            {
                return _withoutKey;
            }
        }
    }

    public ValueTask ApplyAsync(LedgerPosting posting, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            foreach (var leg in posting.Legs)
            {
                _balances[leg.Account] = _balances.GetValueOrDefault(leg.Account) + leg.Delta;
            }

            _executions[posting.OperationId] = _executions.GetValueOrDefault(posting.OperationId) + 1;
            _total++;
            if (posting.Key is null)
            {
                _withoutKey++;
            }
        }

        return ValueTask.CompletedTask;
    }

    public long? Balance(string account)
    {
        lock (_lock)
        {
            return _balances.GetValueOrDefault(account);
        }
    }

    /// <summary>How many times <paramref name="operationId"/> was executed.</summary>
    public int Executions(string operationId)
    {
        lock (_lock)
        {
            return _executions.GetValueOrDefault(operationId);
        }
    }
}
