using Idempotency.AspNetCore.Deduplication;

namespace BankLedger.Endpoints;

/// <summary>The ledger's named idempotency policies (docs/configuration.md, "Per-endpoint policies").</summary>
public static class LedgerPolicies
{
    /// <summary>Money movements: transfers, deposits and withdrawals.</summary>
    public const string Payments = "payments";

    /// <summary>Adds the policies to the idempotency options.</summary>
    /// <param name="options">The options <c>AddIdempotency</c> configures.</param>
    public static void Add(IdempotencyOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.AddPolicy(Payments, policy =>
        {
            // A posting takes milliseconds: a key whose request crashed is free again after 30 seconds, not the global minute.
            policy.LeaseDuration = TimeSpan.FromSeconds(30);

            // Clients may stamp each attempt with the time it was sent; a retry with a new stamp is still the same payment.
            policy.FingerprintExcludedJsonMembers.Add("sentAt");
        });
    }
}
