using BankLedger.Auth;
using BankLedger.Endpoints;
using BankLedger.Grpc;
using BankLedger.Http;
using BankLedger.Queue;
using BankLedger.Storage;
using Microsoft.AspNetCore.Authentication;

namespace BankLedger;

/// <summary>
/// The sample service, built from a <see cref="WebApplicationBuilder"/>: Program.cs runs it, and the retry-storm demo
/// (samples/LedgerClient, <c>--self-host</c>) starts the same service in its own process.
/// </summary>
public static class BankLedgerApp
{
    /// <summary>Configures the services, builds the app and maps its pipeline and endpoints.</summary>
    public static WebApplication Build(WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddProblemDetails();
        builder.Services.AddAuthentication(DemoBearerAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, DemoBearerAuthenticationHandler>(DemoBearerAuthenticationHandler.SchemeName, null);
        builder.Services.AddAuthorization();

        // Keys are scoped to the authenticated user: alice's key can never replay bob's response.
        // The Idempotency section holds IdempotencyOptions (docs/configuration.md). Idempotency:Store, the sample's own key,
        // picks where keys and the ledger live: memory (default), redis, postgres or efcore (see README.md).
        builder.Services.AddIdempotency(builder.Configuration.GetSection("Idempotency"), LedgerPolicies.Add) // the "payments" policy
            .AddLedgerStore(builder.Configuration);

        // /healthz reports the idempotency store: Redis round trip and eviction policy, PostgreSQL connection and table,
        // or the in-memory store's fill level (Degraded above nine tenths). Unhealthy answers 503.
        builder.Services.AddHealthChecks().AddIdempotencyStore();

        // In postgres mode: the transfer queue, and its worker when TransferQueue:Enabled is true (off by default).
        builder.Services.AddTransferQueue(builder.Configuration);

        // Deposits and transfers over gRPC too, sharing the ledger and the idempotency records (Grpc/, README.md).
        builder.Services.AddLedgerGrpc();

        // The OpenAPI document at /openapi/v1.json declares the Idempotency-Key header, If-Match, and the problem
        // responses (400, 409, 412, 422, 428) of every endpoint that has them.
        builder.Services.AddOpenApi(options => options.DescribeIdempotencyKeys().DescribePreconditions());

        // Traffic mirroring: a primary by default. Run a copy with Mirroring:Role=Canary to receive mirrored traffic safely.
        builder.Services.AddMirroring(options =>
        {
            var mirroring = builder.Configuration.GetSection("Mirroring");
            mirroring.Bind(options);
            options.HeaderName = mirroring["Header"] ?? options.HeaderName;
        });

        var app = builder.Build();

        app.UseStatusCodePages();
        app.UseMirrorGuard();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseJsonCharsetGuard(); // 415 for a JSON body in another charset, which ASP.NET Core's binding would answer with 500
        app.UsePreconditions(); // 428 for a write without If-Match on endpoints that .RequirePrecondition()
        app.UseIdempotency();

        app.MapHealthChecks("/healthz").WithMetadata(new HttpMethodMetadata([HttpMethods.Get, HttpMethods.Head])); // a probe reads; other methods get 405
        app.MapOpenApi();

        // Which endpoints a proxy may mirror to a canary: JSON, or ?format=istio / ?format=nginx. It lists every route:
        // a real service would protect it like any operator endpoint (.RequireAuthorization(...)).
        app.MapMirrorSafetyReport("/mirror-safety");
        app.MapLedger();
        app.MapLedgerGrpc();
        return app;
    }
}
