using Microsoft.EntityFrameworkCore;

namespace Idempotency.EntityFrameworkCore.Tests.Infrastructure;

/// <summary>The application's own context in the tests: a ledger of entries, and the idempotency records table.</summary>
public sealed class LedgerDbContext(DbContextOptions<LedgerDbContext> options) : DbContext(options)
{
    public DbSet<LedgerEntry> Entries => Set<LedgerEntry>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.AddIdempotencyRecords();
        modelBuilder.Entity<LedgerEntry>(entry =>
        {
            entry.ToTable("ledger_entries");
            entry.Property(e => e.Id).HasColumnName("id");
            entry.Property(e => e.Account).HasColumnName("account");
            entry.Property(e => e.Amount).HasColumnName("amount");
        });
    }
}

public sealed class LedgerEntry
{
    public long Id { get; set; }

    public string Account { get; set; } = string.Empty;

    public long Amount { get; set; }
}

/// <summary>A context whose model lacks the records table.</summary>
public sealed class ContextWithoutRecords(DbContextOptions<ContextWithoutRecords> options) : DbContext(options)
{
    public DbSet<LedgerEntry> Entries => Set<LedgerEntry>();
}
