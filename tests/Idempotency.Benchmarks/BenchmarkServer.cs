using System.Text.Json.Serialization;
using Dapper;
using Idempotency.PostgreSql;
using Npgsql;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Idempotency.Benchmarks;

/// <summary>
/// The Kestrel app measured end to end by scripts/benchmark-e2e.sh. Arguments (as configuration):
/// <c>--urls</c>, <c>--middleware true|false</c> (whether UseIdempotency() is in the pipeline),
/// <c>--store memory|redis|postgres</c>, <c>--redis host:port</c>, <c>--postgres connection-string</c>, and for the
/// memory store <c>--records N</c>: the store's <c>MaxEntries</c> becomes N (at least 1,024) and it is filled with N
/// completed records before the server listens, so every new key evicts the oldest and the store stays at N records
/// (scripts/benchmark-store-size.sh). <c>--max-entries N</c> only caps the store at N records, filled by the requests
/// themselves, after which every new key evicts the oldest (scripts/benchmark-ab.sh with <c>MAX_ENTRIES</c>). Without
/// either the store may grow to 10 million records.
/// With postgres, two more endpoints insert one ledger row per request: <c>/ledger/transactional</c> in the
/// transactional idempotency mode, and <c>/ledger/manual</c>, the same insert in a hand-written transaction.
/// <c>GET /runtime-counters</c> reports the runtime's own counters (thread-pool work items, allocated bytes,
/// collections, lock contention, pause time) for a script to read around a run.
/// </summary>
internal static class BenchmarkServer
{
    public static async Task RunAsync(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.Logging.ClearProviders();
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, BenchmarkJsonContext.Default));

        var useMiddleware = builder.Configuration.GetValue("middleware", true);
        var records = builder.Configuration.GetValue<int?>("records");
        var maxEntries = builder.Configuration.GetValue("max-entries", 10_000_000);
        var idempotency = builder.Services.AddIdempotency(o => o.ResponseRetention = TimeSpan.FromHours(1));
        switch (builder.Configuration["store"] ?? "memory")
        {
            case "memory":
                idempotency.AddInMemoryStore(o =>
                {
                    o.MaxEntries = records is { } held ? Math.Max(held, MinimumMaxEntries) : maxEntries;
                    o.MaxBytes = 8L * 1024 * 1024 * 1024;
                    o.MaxScopeShare = 1; // every benchmark request is anonymous: one scope holds the whole store
                });
                break;
            case "redis":
                idempotency.AddRedisStore(builder.Configuration["redis"] ?? throw new InvalidOperationException("--redis host:port is required with --store redis"));
                break;
            case "postgres":
                var connectionString = builder.Configuration["postgres"] ?? throw new InvalidOperationException("--postgres <connection string> is required with --store postgres");
                builder.Services.AddSingleton(NpgsqlDataSource.Create(connectionString));
                idempotency.AddPostgreSqlStore(o => o.CreateSchemaOnStartup = true);
                break;
            default:
                throw new InvalidOperationException($"Unknown store '{builder.Configuration["store"]}': use memory, redis or postgres.");
        }

        var app = builder.Build();
        if (useMiddleware)
        {
            app.UseIdempotency();
        }

        app.MapGet("/plain", () => "hello");
        app.MapGet("/runtime-counters", RuntimeCounters);
        app.MapPost("/bare", Deposit);
        app.MapPost("/keyed", Deposit).RequireIdempotency();
        if (builder.Configuration["store"] == "postgres")
        {
            await using (var connection = await app.Services.GetRequiredService<NpgsqlDataSource>().OpenConnectionAsync())
            {
                await connection.ExecuteAsync("CREATE TABLE IF NOT EXISTS bench_ledger (id bigserial PRIMARY KEY, account bigint NOT NULL, amount bigint NOT NULL)");
            }

            app.MapPost("/ledger/transactional", InsertInIdempotentTransactionAsync).RequireIdempotency().WithPostgreSqlTransaction();
            app.MapPost("/ledger/manual", InsertInOwnTransactionAsync);
        }

        if (records is > 0)
        {
            await FillAsync(app.Services.GetRequiredService<IIdempotencyStore>(), records.Value);
        }

        await app.RunAsync();
    }

    private const int MinimumMaxEntries = 1_024;

    /// <summary>
    /// What the process has done so far, for a script to read before and after a run and divide by its requests:
    /// thread-pool work items completed, bytes allocated, collections of generations 0, 1 and 2, contended lock
    /// acquisitions and the collector's total pause time in microseconds, separated by spaces.
    /// </summary>
    private static string RuntimeCounters() => string.Join(
        ' ',
        ThreadPool.CompletedWorkItemCount,
        GC.GetTotalAllocatedBytes(),
        GC.CollectionCount(0),
        GC.CollectionCount(1),
        GC.CollectionCount(2),
        Monitor.LockContentionCount,
        (long)GC.GetTotalPauseDuration().TotalMicroseconds);

    // Completed records like the middleware's for an anonymous caller: a storage key of the anonymous scope and a
    // UUID, a 32-byte fingerprint, a 200-byte payload (the benchmark's own records are about that size).
    private static async Task FillAsync(IIdempotencyStore store, int records)
    {
        var random = new Random(records);
        var fingerprint = new byte[32];
        var payload = new byte[200];
        var uuid = new byte[16];
        for (var i = 0; i < records; i++)
        {
            random.NextBytes(fingerprint);
            random.NextBytes(payload);
            random.NextBytes(uuid);
            var key = IdempotencyStorageKey.Create(string.Empty, new Guid(uuid).ToString());
            var owner = OwnerTokens.Create();
            await store.ClaimAsync(new IdempotencyClaimRequest(key, fingerprint, owner, TimeSpan.FromMinutes(1), string.Empty), default);
            await store.CompleteAsync(new IdempotencyCompleteRequest(key, owner, payload, TimeSpan.FromHours(1)), default);
        }
    }

    private static IResult Deposit(DepositRequest request) =>
        Results.Created("/accounts/1/entries/1", new DepositResponse(1, 1, request.Amount, request.Amount));

    private const string InsertEntry = "INSERT INTO bench_ledger (account, amount) VALUES (1, @Amount) RETURNING id";

    // The key, this insert and the stored response commit together (one transaction opened by the middleware).
    private static async Task<IResult> InsertInIdempotentTransactionAsync(DepositRequest request, PostgreSqlIdempotentTransaction transaction)
    {
        var entry = await transaction.Connection.ExecuteScalarAsync<long>(InsertEntry, new { request.Amount }, transaction.Transaction);
        return Results.Created("/accounts/1/entries/" + entry, new DepositResponse(1, entry, request.Amount, request.Amount));
    }

    // The baseline: the same insert in a transaction the handler writes by hand, with no idempotency.
    private static async Task<IResult> InsertInOwnTransactionAsync(DepositRequest request, NpgsqlDataSource dataSource)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var entry = await connection.ExecuteScalarAsync<long>(InsertEntry, new { request.Amount }, transaction);
        await transaction.CommitAsync();
        return Results.Created("/accounts/1/entries/" + entry, new DepositResponse(1, entry, request.Amount, request.Amount));
    }
}

/// <summary>The benchmark's request body.</summary>
internal sealed record DepositRequest(long Amount);

/// <summary>The benchmark's response body.</summary>
internal sealed record DepositResponse(long Account, long Entry, long Amount, long Balance);

[JsonSerializable(typeof(DepositRequest))]
[JsonSerializable(typeof(DepositResponse))]
internal sealed partial class BenchmarkJsonContext : JsonSerializerContext;
