using Microsoft.EntityFrameworkCore;

namespace BankLedger.Ledger.EfCore;

/// <summary>
/// The ledger as an EF Core model (<c>Idempotency:Store=efcore</c>), over the very tables the PostgreSQL ledger uses:
/// accounts in <c>bank_accounts</c>, transfers in <c>bank_transfers</c>, and each account's entries as the rows of its
/// stream in <c>conditional_stream_entries</c>; plus the idempotency records table, so that a keyed request's key,
/// entries and stored response commit in one transaction of this context.
/// </summary>
public sealed class LedgerDbContext(DbContextOptions<LedgerDbContext> options) : DbContext(options)
{
    /// <summary>Gets the accounts.</summary>
    public DbSet<BankAccountRow> Accounts => Set<BankAccountRow>();

    /// <summary>Gets the transfers.</summary>
    public DbSet<BankTransferRow> Transfers => Set<BankTransferRow>();

    /// <summary>Gets every account's entries.</summary>
    public DbSet<LedgerEntryRow> Entries => Set<LedgerEntryRow>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.AddIdempotencyRecords();
        modelBuilder.Entity<BankAccountRow>(account =>
        {
            account.ToTable("bank_accounts");
            account.HasKey(a => a.Id);
            account.Property(a => a.Id).HasColumnName("id").UseIdentityAlwaysColumn();
            account.Property(a => a.UserId).HasColumnName("user_id");
            account.Property(a => a.Owner).HasColumnName("owner");
        });
        modelBuilder.Entity<BankTransferRow>(transfer =>
        {
            transfer.ToTable("bank_transfers");
            transfer.HasKey(t => t.Id);
            transfer.Property(t => t.Id).HasColumnName("id").UseIdentityAlwaysColumn();
            transfer.Property(t => t.FromAccount).HasColumnName("from_account");
            transfer.Property(t => t.ToAccount).HasColumnName("to_account");
            transfer.Property(t => t.Amount).HasColumnName("amount");
        });
        modelBuilder.Entity<LedgerEntryRow>(entry =>
        {
            entry.ToTable("conditional_stream_entries");
            entry.HasKey(e => new { e.Stream, e.Sequence });
            entry.Property(e => e.Stream).HasColumnName("stream").UseCollation("C");
            entry.Property(e => e.Sequence).HasColumnName("sequence");
            entry.Property(e => e.Payload).HasColumnName("payload");
        });
    }
}

/// <summary>A row of <c>bank_accounts</c>.</summary>
public sealed class BankAccountRow
{
    public long Id { get; set; }

    public required string UserId { get; set; }

    public required string Owner { get; set; }
}

/// <summary>A row of <c>bank_transfers</c>.</summary>
public sealed class BankTransferRow
{
    public long Id { get; set; }

    public long FromAccount { get; set; }

    public long ToAccount { get; set; }

    public long Amount { get; set; }
}

/// <summary>An entry of an account's stream (<c>bank-account:{id}</c>): its number and its <see cref="Storage.LedgerEntryPayload"/>.</summary>
public sealed class LedgerEntryRow
{
    public required string Stream { get; set; }

    public long Sequence { get; set; }

    public required byte[] Payload { get; set; }
}
