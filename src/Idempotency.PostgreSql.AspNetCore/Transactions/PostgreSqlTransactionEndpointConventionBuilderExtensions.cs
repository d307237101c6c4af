using System.Data;
using Idempotency.PostgreSql;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Runs endpoints in PostgreSQL transactional mode.</summary>
public static class PostgreSqlTransactionEndpointConventionBuilderExtensions
{
    /// <summary>
    /// Runs keyed requests to the endpoint in one PostgreSQL transaction with their idempotency record: the claim, the
    /// handler's changes (through <see cref="PostgreSqlIdempotentTransaction"/>) and the stored response commit
    /// together, or none of them does. The same as <see cref="PostgreSqlTransactionAttribute"/>. Use it with
    /// <c>.RequireIdempotency()</c>, or on a gRPC service (<c>MapGrpcService&lt;T&gt;()</c>) whose methods carry
    /// <c>[RequireIdempotentCall]</c>.
    /// </summary>
    /// <typeparam name="TBuilder">The endpoint convention builder type.</typeparam>
    /// <param name="builder">The endpoint or group.</param>
    /// <param name="isolationLevel">The isolation level of the request's transaction.</param>
    /// <returns>The same builder.</returns>
    public static TBuilder WithPostgreSqlTransaction<TBuilder>(this TBuilder builder, IsolationLevel isolationLevel = IsolationLevel.ReadCommitted)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        var metadata = new PostgreSqlTransactionAttribute { IsolationLevel = isolationLevel };
        builder.Add(endpoint => endpoint.Metadata.Add(metadata));
        return builder;
    }
}
