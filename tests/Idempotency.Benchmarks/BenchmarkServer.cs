using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Idempotency.Benchmarks;

/// <summary>
/// The Kestrel app measured end to end by scripts/benchmark-e2e.sh. Arguments (as configuration):
/// <c>--urls</c>, <c>--middleware true|false</c> (whether UseIdempotency() is in the pipeline),
/// <c>--store memory|redis</c>, <c>--redis host:port</c>.
/// </summary>
internal static class BenchmarkServer
{
    public static async Task RunAsync(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.Logging.ClearProviders();
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, BenchmarkJsonContext.Default));

        var useMiddleware = builder.Configuration.GetValue("middleware", true);
        var idempotency = builder.Services.AddIdempotency(o => o.ResponseRetention = TimeSpan.FromHours(1));
        switch (builder.Configuration["store"] ?? "memory")
        {
            case "memory":
                idempotency.AddInMemoryStore(o =>
                {
                    o.MaxEntries = 10_000_000;
                    o.MaxBytes = 8L * 1024 * 1024 * 1024;
                });
                break;
            case "redis":
                idempotency.AddRedisStore(builder.Configuration["redis"] ?? throw new InvalidOperationException("--redis host:port is required with --store redis"));
                break;
            default:
                throw new InvalidOperationException($"Unknown store '{builder.Configuration["store"]}': use memory or redis.");
        }

        var app = builder.Build();
        if (useMiddleware)
        {
            app.UseIdempotency();
        }

        app.MapGet("/plain", () => "hello");
        app.MapPost("/bare", Deposit);
        app.MapPost("/keyed", Deposit).RequireIdempotency();
        await app.RunAsync();
    }

    private static IResult Deposit(DepositRequest request) =>
        Results.Created("/accounts/1/entries/1", new DepositResponse(1, 1, request.Amount, request.Amount));
}

/// <summary>The benchmark's request body.</summary>
internal sealed record DepositRequest(long Amount);

/// <summary>The benchmark's response body.</summary>
internal sealed record DepositResponse(long Account, long Entry, long Amount, long Balance);

[JsonSerializable(typeof(DepositRequest))]
[JsonSerializable(typeof(DepositResponse))]
internal sealed partial class BenchmarkJsonContext : JsonSerializerContext;
