using Idempotency;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace BankLedger.Ledger.EfCore;

/// <summary>Registers the ledger on EF Core (<c>Idempotency:Store=efcore</c>).</summary>
public static class EfCoreLedgerServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="LedgerDbContext"/> over the sample's <see cref="NpgsqlDataSource"/>, without a retrying
    /// execution strategy (the EF Core transactional mode over HTTP refuses one), and <see cref="EfCoreLedger"/> as the
    /// request's ledger, together with the units of work on that context.
    /// </summary>
    public static IIdempotencyBuilder AddEfCoreLedger(this IIdempotencyBuilder idempotency)
    {
        ArgumentNullException.ThrowIfNull(idempotency);
        idempotency.Services.AddDbContext<LedgerDbContext>((provider, options) => options.UseNpgsql(provider.GetRequiredService<NpgsqlDataSource>()));
        idempotency.Services.AddScoped<ILedger, EfCoreLedger>();
        return idempotency.UseEntityFrameworkCore<LedgerDbContext>();
    }
}
