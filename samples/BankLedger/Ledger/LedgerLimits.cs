namespace BankLedger.Ledger;

/// <summary>The bounds every ledger keeps, whatever it stores its entries in.</summary>
public static class LedgerLimits
{
    /// <summary>
    /// The most an account may hold, in cents: the largest balance an entry's 64-bit balance can carry. Each posting is
    /// bounded (<c>LedgerEndpoints.MaxAmount</c>), but enough of them add up; a credit that would take an account past
    /// this is refused with <see cref="LedgerError.BalanceLimitExceeded"/> instead of wrapping its balance around to a
    /// large negative number.
    /// </summary>
    public const long MaxBalance = long.MaxValue;

    /// <summary>Whether crediting <paramref name="amount"/> to an account holding <paramref name="balance"/> (never negative) would take it past <see cref="MaxBalance"/>.</summary>
    public static bool ExceedsMaxBalance(long balance, long amount) => amount > 0 && balance > MaxBalance - amount;
}
