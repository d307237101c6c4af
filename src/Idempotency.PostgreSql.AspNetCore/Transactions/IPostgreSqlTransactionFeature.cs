using Npgsql;

namespace Idempotency.PostgreSql;

/// <summary>
/// The connection and transaction of a request that runs in PostgreSQL transactional mode, on
/// <c>HttpContext.Features</c>: those of the request's <see cref="PostgreSqlIdempotencyUnitOfWork"/>, also shown by the
/// scoped <see cref="PostgreSqlIdempotentTransaction"/>. The request's key is claimed in the transaction; write the
/// request's business changes through it, and the middleware stores the response in it and commits everything together.
/// </summary>
/// <remarks>
/// Do not commit or roll back the transaction yourself, and do not dispose the connection. A database error aborts
/// the whole transaction: to recover from one inside the handler (for example a unique violation you turn into a 409),
/// run the statement inside a savepoint (<see cref="NpgsqlTransaction.SaveAsync(string, CancellationToken)"/>).
/// </remarks>
public interface IPostgreSqlTransactionFeature
{
    /// <summary>Gets the open connection of the request.</summary>
    NpgsqlConnection Connection { get; }

    /// <summary>Gets the request's transaction; pass it to every command (with Dapper, <c>transaction: tx.Transaction</c>).</summary>
    NpgsqlTransaction Transaction { get; }
}
