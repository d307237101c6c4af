using System.Text.Json.Serialization;
using Dapper;
using Idempotency.PostgreSql;
using Idempotency.Redis;
using Npgsql;
using StackExchange.Redis;
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
/// With redis, <c>/redis-floor/1</c> and <c>/redis-floor/2</c> answer as <c>/bare</c> with the store's own scripts sent
/// directly (a replay's claim; a new key's claim and completion) on the store's multiplexer, without the library, and
/// <c>/redis-floor/2/around</c> does so in a new key's order: what StackExchange.Redis and Redis alone cost
/// (scripts/benchmark-redis-floor.sh).
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

        if (builder.Configuration["store"] == "redis")
        {
            var floor = await RedisFloor.CreateAsync(app.Services.GetRequiredService<RedisConnection>());
            app.MapPost("/redis-floor/{calls:int}", (int calls, DepositRequest request) => floor.DepositAsync(calls, request));
            app.MapPost("/redis-floor/{calls:int}/around", (int calls, DepositRequest request, HttpContext context) => floor.DepositAroundAsync(calls, request, context));
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

/// <summary>
/// The floor under the Redis store's cost: the <c>/bare</c> handler with the store's own scripts sent by
/// StackExchange.Redis directly, without the library (no middleware, engine, fingerprint, capture or store code), on
/// the very multiplexer the store uses (same socket, socket manager and batching), so Redis does the same work. One
/// call is a replay's claim (of a completed record, answered with its payload); two are a new key's claim and
/// completion. What a replay and a new key cost beyond these is the library's.
/// </summary>
internal sealed class RedisFloor
{
    private const string KeyPrefix = "idempotency-benchmark-floor:";
    private static readonly RedisKey s_completedKey = KeyPrefix + "completed";
    private static readonly byte[] s_fingerprint = new byte[32];
    private static readonly byte[] s_payload = new byte[200]; // about the size of the benchmark's stored response
    private static long s_counter;

    private readonly IDatabase _database;

    private RedisFloor(IDatabase database) => _database = database;

    public static async Task<RedisFloor> CreateAsync(RedisConnection connection)
    {
        var multiplexer = await connection.GetMultiplexerAsync();
        foreach (var server in multiplexer.GetServers())
        {
            foreach (var script in RedisScript.All)
            {
                await server.ScriptLoadAsync(script.Text); // sent by SHA from now on, as the store sends them
            }
        }

        var floor = new RedisFloor(multiplexer.GetDatabase());

        // The record replayed by one call; another server on the same Redis (scripts/benchmark-redis-ab.sh) may have
        // completed it already.
        const string owner = "floor-owner";
        if (await floor.ClaimAsync(s_completedKey, owner, expected: s_claimedOrCompleted) == ClaimedReply)
        {
            await floor.CompleteAsync(s_completedKey, owner);
        }

        return floor;
    }

    /// <summary>The calls (one: a replay's claim; two: a new key's claim and completion), then the handler's answer.</summary>
    public async Task<IResult> DepositAsync(int calls, DepositRequest request)
    {
        var claimed = await ClaimFirstAsync(calls);
        if (claimed is var (key, owner))
        {
            await CompleteAsync(key, owner);
        }

        return Results.Created("/accounts/1/entries/1", new DepositResponse(1, 1, request.Amount, request.Amount));
    }

    /// <summary>
    /// A new key's order: the claim, then the response written (and flushed, as a JSON result is), then the completion,
    /// so the response leaves in two writes as it does under the store.
    /// </summary>
    public async Task DepositAroundAsync(int calls, DepositRequest request, HttpContext context)
    {
        var claimed = await ClaimFirstAsync(calls);
        context.Response.StatusCode = StatusCodes.Status201Created;
        context.Response.Headers.Location = "/accounts/1/entries/1";
        await context.Response.WriteAsJsonAsync(new DepositResponse(1, 1, request.Amount, request.Amount), BenchmarkJsonContext.Default.DepositResponse);
        if (claimed is var (key, owner))
        {
            await CompleteAsync(key, owner);
        }
    }

    // One call: a replay's claim, answered with the completed record. Two: a new key's claim, which returns the key and
    // owner to complete.
    private async Task<(RedisKey Key, string Owner)?> ClaimFirstAsync(int calls)
    {
        if (calls is not (1 or 2))
        {
            throw new ArgumentOutOfRangeException(nameof(calls), calls, "One call (a replay) or two (a new key).");
        }

        if (calls == 1)
        {
            await ClaimAsync(s_completedKey, "floor-owner", expected: s_completed);
            return null;
        }

        var number = Interlocked.Increment(ref s_counter);
        var key = (RedisKey)(KeyPrefix + number.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var owner = "floor-" + number.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await ClaimAsync(key, owner, expected: s_claimed);
        return (key, owner);
    }

    // The claim script's first reply element: claimed, or completed (with the payload).
    private const long ClaimedReply = 0;
    private const long CompletedReply = 2;
    private static readonly long[] s_claimed = [ClaimedReply];
    private static readonly long[] s_completed = [CompletedReply];
    private static readonly long[] s_claimedOrCompleted = [ClaimedReply, CompletedReply];

    private async Task<long> ClaimAsync(RedisKey key, string owner, long[] expected)
    {
        RedisValue[] arguments = [s_fingerprint, owner, 60_000L, 5_000L];
        var parts = (RedisResult[]?)await _database.ScriptEvaluateAsync(RedisScript.Claim.Hash, [key], arguments);
        if (parts is not { Length: 2 } || !expected.Contains((long)parts[0]))
        {
            throw new InvalidOperationException($"The floor's claim answered {parts?[0]}, not {string.Join(" or ", expected)}.");
        }

        return (long)parts[0];
    }

    private async Task CompleteAsync(RedisKey key, string owner)
    {
        RedisValue[] arguments = [owner, s_payload, 3_600_000L];
        var reply = await _database.ScriptEvaluateAsync(RedisScript.Complete.Hash, [key], arguments);
        if ((long)reply != 1)
        {
            throw new InvalidOperationException($"The floor's completion answered {reply}, not 1.");
        }
    }
}

/// <summary>The benchmark's request body.</summary>
internal sealed record DepositRequest(long Amount);

/// <summary>The benchmark's response body.</summary>
internal sealed record DepositResponse(long Account, long Entry, long Amount, long Balance);

[JsonSerializable(typeof(DepositRequest))]
[JsonSerializable(typeof(DepositResponse))]
internal sealed partial class BenchmarkJsonContext : JsonSerializerContext;
