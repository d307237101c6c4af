using Npgsql;

namespace Idempotency.PostgreSql;

/// <summary>
/// The request's connection and transaction in PostgreSQL transactional mode, as a scoped service for handlers
/// (<c>app.MapPost("/transfers", async (PostgreSqlIdempotentTransaction tx, ...) => ...)</c>). It is the same object
/// as the request's <see cref="IPostgreSqlTransactionFeature"/>.
/// </summary>
/// <remarks>
/// It is active only while a keyed request to an endpoint with <c>.WithPostgreSqlTransaction()</c> (or
/// <see cref="PostgreSqlTransactionAttribute"/>) runs its handler. On such an endpoint also require a key
/// (<c>.RequireIdempotency()</c>): a request without one is not run in a transaction.
/// </remarks>
public sealed class PostgreSqlIdempotentTransaction : IPostgreSqlTransactionFeature
{
    private NpgsqlConnection? _connection;
    private NpgsqlTransaction? _transaction;

    /// <summary>Gets whether the request runs in transactional mode right now.</summary>
    public bool IsActive => _transaction is not null;

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">The request does not run in transactional mode.</exception>
    public NpgsqlConnection Connection => _connection ?? throw NotActive();

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">The request does not run in transactional mode.</exception>
    public NpgsqlTransaction Transaction => _transaction ?? throw NotActive();

    internal void Attach(NpgsqlConnection connection, NpgsqlTransaction transaction)
    {
        _connection = connection;
        _transaction = transaction;
    }

    internal void Detach()
    {
        _connection = null;
        _transaction = null;
    }

    private static InvalidOperationException NotActive() => new(
        "This request does not run in a PostgreSQL idempotency transaction. The transaction exists only while a request " +
        "that carries an Idempotency-Key runs the handler of an endpoint with .WithPostgreSqlTransaction() (or " +
        "[PostgreSqlTransaction]); add .RequireIdempotency() so that every request to it carries a key, and make sure " +
        "AddIdempotency().AddPostgreSqlStore(...) and app.UseIdempotency() are called.");
}
