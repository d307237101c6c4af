using System.Data;
using Microsoft.Extensions.Logging;

namespace Idempotency.PostgreSql;

/// <summary>
/// Begins units of work in PostgreSQL transactional mode on the store's database: each is a store bound to one
/// connection and transaction, whose record of the key commits together with the operation's own changes. Registered by
/// <c>AddIdempotency().AddPostgreSqlStore(...)</c>; inject it where a message handler, a job or a binding of another
/// transport runs operations that must apply their effect once.
/// </summary>
/// <remarks>
/// <code>
/// await using var unitOfWork = await factory.BeginAsync(IsolationLevel.ReadCommitted, cancellationToken);
/// var claim = await unitOfWork.ClaimAsync(new IdempotencyClaimRequest(key, fingerprint, owner, lease), cancellationToken);
/// if (claim.Status == ClaimStatus.Claimed)
/// {
///     await unitOfWork.Connection.ExecuteAsync(sql, parameters, unitOfWork.Transaction); // the operation's effect
///     await unitOfWork.CompleteAsync(new IdempotencyCompleteRequest(key, owner, outcome, retention), cancellationToken);
/// }
/// // acknowledge the message only now
/// </code>
/// The business tables must live in the store's database.
/// </remarks>
public sealed class PostgreSqlIdempotencyUnitOfWorkFactory
{
    private readonly PostgreSqlIdempotencyDatabase _database;
    private readonly ILogger _logger;

    internal PostgreSqlIdempotencyUnitOfWorkFactory(PostgreSqlIdempotencyDatabase database, ILogger<PostgreSqlIdempotencyUnitOfWork> logger)
    {
        _database = database;
        _logger = logger;
    }

    /// <summary>
    /// Opens a connection to the store's database and begins a unit of work on it. Dispose the unit of work when the
    /// operation ends: without a completion that rolls everything back.
    /// </summary>
    /// <param name="isolationLevel">
    /// The isolation level of the unit of work's transaction. Every level gives the same deduplication: the key is locked
    /// before the transaction's snapshot is taken. With <see cref="IsolationLevel.RepeatableRead"/> or
    /// <see cref="IsolationLevel.Serializable"/> a serialization failure of the operation's own statements rolls
    /// everything back, and a retry of the operation is safe.
    /// </param>
    /// <param name="cancellationToken">Cancels opening the connection.</param>
    /// <returns>The unit of work, not yet claimed.</returns>
    /// <exception cref="IdempotencyStoreException">The database could not be reached.</exception>
    public ValueTask<PostgreSqlIdempotencyUnitOfWork> BeginAsync(IsolationLevel isolationLevel = IsolationLevel.ReadCommitted, CancellationToken cancellationToken = default) =>
        PostgreSqlIdempotencyUnitOfWork.BeginAsync(_database, isolationLevel, _logger, cancellationToken);
}
