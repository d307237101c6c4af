using System.Data;
using Idempotency.AspNetCore.Deduplication;
using Microsoft.AspNetCore.Http;

namespace Idempotency.PostgreSql;

/// <summary>
/// Runs keyed requests to the endpoint in PostgreSQL transactional mode: the claim of the key, the handler's own
/// changes (through <see cref="PostgreSqlIdempotentTransaction"/> or <see cref="IPostgreSqlTransactionFeature"/>) and
/// the stored response commit in one transaction, or none of them does. The same as <c>.WithPostgreSqlTransaction()</c>.
/// </summary>
/// <remarks>
/// Use it together with <see cref="RequireIdempotencyAttribute"/> (or, on a gRPC service, <c>[RequireIdempotentCall]</c>
/// of Idempotency.Grpc.AspNetCore) and the PostgreSQL store (<c>AddIdempotency().AddPostgreSqlStore(...)</c>); the
/// business tables must live in the store's database.
/// </remarks>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, AllowMultiple = false, Inherited = true)]
public sealed class PostgreSqlTransactionAttribute : Attribute, IIdempotencyRequestStoreProvider
{
    /// <summary>Gets or sets the isolation level of the request's transaction.</summary>
    /// <value>The default is <see cref="IsolationLevel.ReadCommitted"/>, PostgreSQL's default.</value>
    /// <remarks>
    /// Every level gives the same deduplication: the key is locked before the transaction's snapshot is taken, so the
    /// handler never runs again for a key whose record another request has committed. With
    /// <see cref="IsolationLevel.RepeatableRead"/> or <see cref="IsolationLevel.Serializable"/> a serialization failure
    /// of the handler's own statements rolls everything back and the client gets a 503 to retry, which is safe: nothing
    /// was committed.
    /// </remarks>
    public IsolationLevel IsolationLevel { get; set; } = IsolationLevel.ReadCommitted;

    /// <inheritdoc />
    public ValueTask<IIdempotencyUnitOfWorkStore> CreateStoreAsync(HttpContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        return PostgreSqlTransactionalRequestStore.BeginAsync(context, IsolationLevel, cancellationToken);
    }
}
