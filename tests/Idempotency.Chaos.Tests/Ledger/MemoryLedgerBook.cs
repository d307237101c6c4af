using Microsoft.AspNetCore.Http;

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

    public ValueTask ApplyAsync(HttpContext context, LedgerPosting posting, CancellationToken cancellationToken)
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

    public Task<long?> BalanceAsync(string account)
    {
        lock (_lock)
        {
            return Task.FromResult<long?>(_balances.GetValueOrDefault(account));
        }
    }

    public LedgerTally Tally()
    {
        lock (_lock)
        {
            return new LedgerTally(new Dictionary<string, int>(_executions, StringComparer.Ordinal), _total, _withoutKey);
        }
    }
}
