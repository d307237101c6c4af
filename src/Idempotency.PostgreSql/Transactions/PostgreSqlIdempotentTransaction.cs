using Npgsql;

namespace Idempotency.PostgreSql;

/// <summary>
/// The connection and transaction of the PostgreSQL unit of work that runs in the current service scope, as a scoped
/// service for the code that does the operation's work: a minimal API handler
/// (<c>app.MapPost("/transfers", async (PostgreSqlIdempotentTransaction tx, ...) => ...)</c>), a repository, a message
/// consumer. It shows the connection and transaction of the <see cref="PostgreSqlIdempotencyUnitOfWork"/> attached to
/// it while that unit of work holds the claim of its key.
/// </summary>
/// <remarks>
/// Over HTTP (Idempotency.PostgreSql.AspNetCore) it is active only while a keyed request to an endpoint with
/// <c>.WithPostgreSqlTransaction()</c> (or <c>[PostgreSqlTransaction]</c>) runs its handler; on such an endpoint also
/// require a key (<c>.RequireIdempotency()</c>): a request without one is not run in a transaction. A message handler that
/// begins its own unit of work can <see cref="Attach"/> it here, so that the services of its scope see it too. Do not
/// commit or roll back the transaction yourself, and do not dispose the connection.
/// </remarks>
public sealed class PostgreSqlIdempotentTransaction
{
    private PostgreSqlIdempotencyUnitOfWork? _unitOfWork;

    /// <summary>Gets whether a unit of work that holds its claim is attached right now.</summary>
    public bool IsActive => _unitOfWork is { IsClaimed: true };

    /// <summary>Gets the open connection of the attached unit of work.</summary>
    /// <exception cref="InvalidOperationException">No unit of work that holds its claim is attached.</exception>
    public NpgsqlConnection Connection => IsActive ? _unitOfWork!.Connection : throw NotActive();

    /// <summary>Gets the transaction of the attached unit of work; pass it to every command (with Dapper, <c>transaction: tx.Transaction</c>).</summary>
    /// <exception cref="InvalidOperationException">No unit of work that holds its claim is attached.</exception>
    public NpgsqlTransaction Transaction => IsActive ? _unitOfWork!.Transaction : throw NotActive();

    /// <summary>
    /// Attaches the scope's unit of work: from its successful claim until its disposal, <see cref="Connection"/> and
    /// <see cref="Transaction"/> are its own. The HTTP binding attaches each request's unit of work; a message handler
    /// attaches the one it begins for a message.
    /// </summary>
    /// <param name="unitOfWork">The unit of work of this scope.</param>
    /// <exception cref="InvalidOperationException">Another unit of work, not yet disposed, is attached to this scope.</exception>
    public void Attach(PostgreSqlIdempotencyUnitOfWork unitOfWork)
    {
        ArgumentNullException.ThrowIfNull(unitOfWork);
        if (_unitOfWork is { IsDisposed: false } attached && !ReferenceEquals(attached, unitOfWork))
        {
            throw new InvalidOperationException(
                "Another PostgreSQL unit of work is attached to this scope and not yet disposed. A scope shows one unit of work " +
                "at a time: dispose the first before attaching the next, or use each unit of work's own Connection and Transaction.");
        }

        _unitOfWork = unitOfWork;
    }

    private static InvalidOperationException NotActive() => new(
        "No PostgreSQL idempotency transaction runs in this scope. Over HTTP the transaction exists only while a request " +
        "that carries an Idempotency-Key runs the handler of an endpoint with .WithPostgreSqlTransaction() (or " +
        "[PostgreSqlTransaction]); add .RequireIdempotency() so that every request to it carries a key, and make sure " +
        "AddIdempotency().AddPostgreSqlStore(...) and app.UseIdempotency() are called. A message handler attaches the unit " +
        "of work it begins (PostgreSqlIdempotentTransaction.Attach) and uses it once its claim succeeded.");
}
