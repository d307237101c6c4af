using System.Security.Cryptography;
using Dapper;
using Idempotency.PostgreSql.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Idempotency.PostgreSql.Tests.Storage;

/// <summary>
/// Every contract operation is exactly one SQL statement (so one round trip), counted by the server itself:
/// pg_stat_statements in a database that only the store under test uses, reset before each operation.
/// </summary>
/// <remarks>
/// Besides the store's statement the server may also see Npgsql's pool reset, <c>DISCARD ALL</c>, once per reuse of a
/// pooled connection. Npgsql prepends it to the next command in the same network write, so it costs no round trip;
/// it is counted apart and must be the only other statement.
/// </remarks>
[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlStatementCountTests(PostgreSqlFixture fixture) : IAsyncLifetime
{
    private NpgsqlDataSource _admin = null!;
    private NpgsqlDataSource _storeDataSource = null!;
    private PostgreSqlIdempotencyStore _store = null!;
    private long _databaseId;

    public async Task InitializeAsync()
    {
        var database = await fixture.Server.CreateDatabaseAsync();
        _admin = NpgsqlDataSource.Create(fixture.ConnectionString);
        await using (var connection = await _admin.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
            _databaseId = await connection.QuerySingleAsync<long>("SELECT oid::bigint FROM pg_database WHERE datname = @database", new { database });
        }

        _storeDataSource = NpgsqlDataSource.Create(fixture.Server.ConnectionString(database));
        var storeDatabase = new PostgreSqlIdempotencyDatabase(_storeDataSource, ownsDataSource: false, new PostgreSqlIdempotencyStoreOptions());
        await new PostgreSqlSchemaInitializer(storeDatabase, NullLogger<PostgreSqlSchemaInitializer>.Instance).CreateSchemaAsync(default);
        _store = new PostgreSqlIdempotencyStore(storeDatabase, NullLogger<PostgreSqlIdempotencyStore>.Instance);

        // Warm up: the data source's first connection loads type information, which is not the store's doing.
        var warmUp = Guid.NewGuid().ToString();
        await _store.ClaimAsync(new IdempotencyClaimRequest(warmUp, Fingerprint, "warm-up", TimeSpan.FromMinutes(1)), default);
        await _store.CompleteAsync(new IdempotencyCompleteRequest(warmUp, "warm-up", new byte[] { 1 }, TimeSpan.FromMinutes(1)), default);
    }

    public async Task DisposeAsync()
    {
        await _storeDataSource.DisposeAsync();
        await _admin.DisposeAsync();
    }

    private static byte[] Fingerprint { get; } = SHA256.HashData("a"u8);

    [Fact]
    public async Task EveryOperation_IsOneStatement()
    {
        var key = Guid.NewGuid().ToString();
        var owner = Guid.NewGuid().ToString("N");

        var claim = await CountAsync(async () => (await _store.ClaimAsync(new IdempotencyClaimRequest(key, Fingerprint, owner, TimeSpan.FromMinutes(1)), default)).Status);
        var duplicate = await CountAsync(async () => (await _store.ClaimAsync(new IdempotencyClaimRequest(key, Fingerprint, "other", TimeSpan.FromMinutes(1)), default)).Status);
        var complete = await CountAsync(async () => await _store.CompleteAsync(new IdempotencyCompleteRequest(key, owner, new byte[] { 1, 2, 3 }, TimeSpan.FromMinutes(1)), default));
        var replay = await CountAsync(async () => (await _store.ClaimAsync(new IdempotencyClaimRequest(key, Fingerprint, "third", TimeSpan.FromMinutes(1)), default)).Status);

        Assert.Equal((ClaimStatus.Claimed, 1L, "INSERT"), (claim.Result, claim.Calls, claim.Verb));
        Assert.Equal((ClaimStatus.InFlight, 1L, "INSERT"), (duplicate.Result, duplicate.Calls, duplicate.Verb));
        Assert.Equal((CompletionStatus.Completed, 1L, "UPDATE"), (complete.Result, complete.Calls, complete.Verb));
        Assert.Equal((ClaimStatus.Completed, 1L, "INSERT"), (replay.Result, replay.Calls, replay.Verb));
    }

    [Fact]
    public async Task Release_IsOneStatement()
    {
        var key = Guid.NewGuid().ToString();
        var owner = Guid.NewGuid().ToString("N");
        await _store.ClaimAsync(new IdempotencyClaimRequest(key, Fingerprint, owner, TimeSpan.FromMinutes(1)), default);

        var release = await CountAsync(async () => await _store.ReleaseAsync(key, owner, default));

        Assert.Equal((true, 1L, "DELETE"), (release.Result, release.Calls, release.Verb));
    }

    /// <summary>Runs <paramref name="operation"/> and counts the statements the server executed for it in the store's database.</summary>
    private async Task<(T Result, long Calls, string Verb)> CountAsync<T>(Func<Task<T>> operation)
    {
        await using var connection = await _admin.OpenConnectionAsync();
        await connection.ExecuteAsync("SELECT pg_stat_statements_reset(0, @dbid::oid, 0)", new { dbid = _databaseId });
        var result = await operation();
        var all = (await connection.QueryAsync<(string Query, long Calls)>(
            "SELECT query, calls FROM pg_stat_statements WHERE dbid = @dbid::oid", new { dbid = _databaseId })).ToList();
        var poolResets = all.Where(s => s.Query == "DISCARD ALL").Sum(s => s.Calls);
        var statements = all.Where(s => s.Query != "DISCARD ALL").ToList();
        Assert.InRange(poolResets, 0, 1);
        var calls = statements.Sum(s => s.Calls);
        var verb = statements.Count == 1 ? statements[0].Query.TrimStart().Split(' ', 2)[0] : string.Join(" | ", statements.Select(s => s.Query));
        return (result, calls, verb);
    }
}
