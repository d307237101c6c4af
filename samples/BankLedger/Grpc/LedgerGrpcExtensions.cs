using BankLedger.Storage;

namespace BankLedger.Grpc;

/// <summary>Wires the ledger's gRPC service next to its JSON API.</summary>
public static class LedgerGrpcExtensions
{
    /// <summary>
    /// Adds gRPC with idempotent unary calls (<c>AddGrpc().AddIdempotency()</c>): the same store, options and records
    /// as the JSON API's <c>AddIdempotency(...)</c>, which it reuses.
    /// </summary>
    public static IServiceCollection AddLedgerGrpc(this IServiceCollection services)
    {
        services.AddGrpc().AddIdempotency();
        return services;
    }

    /// <summary>
    /// Maps <see cref="LedgerGrpcService"/> (<c>/bankledger.v1.LedgerService/Deposit</c> and <c>/Transfer</c>). gRPC needs
    /// HTTP/2: over TLS, Kestrel's default protocols (<c>Http1AndHttp2</c>) let ALPN choose per connection, so JSON over
    /// HTTP/1.1 and gRPC share one port; over cleartext Kestrel answers HTTP/1.1 on such an endpoint, and gRPC needs an
    /// endpoint of its own with <c>Protocols = Http2</c> (see README.md). With <c>Idempotency:Store=postgres</c> its
    /// calls run in the transactional mode, as the JSON API's writes do: the ledger write, the key and the stored reply
    /// commit together, or none of them does.
    /// </summary>
    public static IEndpointRouteBuilder MapLedgerGrpc(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapGrpcService<LedgerGrpcService>().WithLedgerTransaction(app.ServiceProvider.GetRequiredService<LedgerStorage>());
        return app;
    }
}
