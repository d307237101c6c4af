using Npgsql;

namespace Idempotency.PostgreSql;

/// <summary>
/// The data source a PostgreSQL component of the library works with, and whether it owns it: a data source it built
/// from a connection string is disposed with it; one it was given, or found in the service provider, is not.
/// </summary>
internal abstract class PostgreSqlDatabase : IAsyncDisposable, IDisposable
{
    private readonly bool _ownsDataSource;

    protected PostgreSqlDatabase(NpgsqlDataSource dataSource, bool ownsDataSource)
    {
        DataSource = dataSource;
        _ownsDataSource = ownsDataSource;
    }

    public NpgsqlDataSource DataSource { get; }

    public void Dispose()
    {
        if (_ownsDataSource)
        {
            DataSource.Dispose();
        }
    }

    public ValueTask DisposeAsync() => _ownsDataSource ? DataSource.DisposeAsync() : ValueTask.CompletedTask;

    /// <summary>
    /// Runs an idempotent schema script (<c>CREATE ... IF NOT EXISTS</c>) in one transaction, under a transaction-scoped
    /// advisory lock named by <paramref name="lockPurpose"/> and <paramref name="lockName"/>: instances starting together
    /// take turns, because concurrent <c>CREATE ... IF NOT EXISTS</c> statements can fail on PostgreSQL's catalog indexes.
    /// </summary>
    public async Task RunSchemaScriptAsync(string lockPurpose, string lockName, string script, CancellationToken cancellationToken)
    {
        var connection = await DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionDisposal = connection.ConfigureAwait(false);
        var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var transactionDisposal = transaction.ConfigureAwait(false);
        var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock(@LockKey)", connection, transaction)
        {
            Parameters = { new NpgsqlParameter<long>("LockKey", PostgreSqlAdvisoryLocks.For(lockPurpose, lockName)) },
        };
        await using (lockCommand.ConfigureAwait(false))
        {
            await lockCommand.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        var scriptCommand = new NpgsqlCommand(script, connection, transaction);
        await using (scriptCommand.ConfigureAwait(false))
        {
            await scriptCommand.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The configured data source, else one built from the configured connection string (owned), else a shared one
    /// from <paramref name="shared"/>; when there is none at all, an exception with <paramref name="noDatabaseMessage"/>.
    /// </summary>
    protected static (NpgsqlDataSource DataSource, bool Owned) Resolve(
        NpgsqlDataSource? configured, string? connectionString, Func<NpgsqlDataSource?> shared, string noDatabaseMessage)
    {
        if (configured is not null)
        {
            return (configured, false);
        }

        if (connectionString is not null)
        {
            return (NpgsqlDataSource.Create(connectionString), true);
        }

        return (shared() ?? throw new InvalidOperationException(noDatabaseMessage), false);
    }
}
