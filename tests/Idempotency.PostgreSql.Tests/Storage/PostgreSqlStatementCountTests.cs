using System.Security.Cryptography;
using Dapper;
using Idempotency.PostgreSql.Tests.Infrastructure;

namespace Idempotency.PostgreSql.Tests.Storage;

/// <summary>
/// Every contract operation is exactly one SQL statement (so one round trip), counted by the server itself in a
/// database that only the store under test uses; and a duplicate or a replay writes nothing.
/// </summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlStatementCountTests(PostgreSqlFixture fixture) : IAsyncLifetime
{
    private ServerStatementCounter _counter = null!;
    private PostgreSqlIdempotencyDatabase _database = null!;
    private PostgreSqlIdempotencyStore _store = null!;

    public async Task InitializeAsync()
    {
        (_database, var name) = await fixture.CreateOwnDatabaseAsync();
        _counter = await ServerStatementCounter.CreateAsync(fixture.Server, name);
        _store = fixture.CreateStore(_database);

        // Warm up: the data source's first connection loads type information, which is not the store's doing.
        var warmUp = Guid.NewGuid().ToString();
        await _store.ClaimAsync(new IdempotencyClaimRequest(warmUp, Fingerprint, "warm-up", TimeSpan.FromMinutes(1)), default);
        await _store.CompleteAsync(new IdempotencyCompleteRequest(warmUp, "warm-up", new byte[] { 1 }, TimeSpan.FromMinutes(1)), default);
    }

    public async Task DisposeAsync()
    {
        await _database.DisposeAsync();
        await _counter.DisposeAsync();
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

        Assert.Equal((ClaimStatus.Claimed, 1, "WITH"), claim);
        Assert.Equal((ClaimStatus.InFlight, 1, "WITH"), duplicate);
        Assert.Equal((CompletionStatus.Completed, 1, "UPDATE"), complete);
        Assert.Equal((ClaimStatus.Completed, 1, "WITH"), replay);
    }

    [Fact]
    public async Task Release_IsOneStatement()
    {
        var key = Guid.NewGuid().ToString();
        var owner = Guid.NewGuid().ToString("N");
        await _store.ClaimAsync(new IdempotencyClaimRequest(key, Fingerprint, owner, TimeSpan.FromMinutes(1)), default);

        var release = await CountAsync(async () => await _store.ReleaseAsync(key, owner, default));

        Assert.Equal((true, 1, "DELETE"), release);
    }

    [Fact]
    public async Task DuplicateAndReplay_LeaveTheRecordUntouched()
    {
        var key = Guid.NewGuid().ToString();
        var owner = Guid.NewGuid().ToString("N");
        await _store.ClaimAsync(new IdempotencyClaimRequest(key, Fingerprint, owner, TimeSpan.FromMinutes(1)), default);
        var claimedVersion = await RowVersionAsync(key);

        var duplicate = await _store.ClaimAsync(new IdempotencyClaimRequest(key, Fingerprint, "other", TimeSpan.FromMinutes(1)), default);
        var afterDuplicate = await RowVersionAsync(key);
        await _store.CompleteAsync(new IdempotencyCompleteRequest(key, owner, new byte[] { 1, 2, 3 }, TimeSpan.FromMinutes(1)), default);
        var completedVersion = await RowVersionAsync(key);
        var replay = await _store.ClaimAsync(new IdempotencyClaimRequest(key, Fingerprint, "third", TimeSpan.FromMinutes(1)), default);
        var afterReplay = await RowVersionAsync(key);

        Assert.Equal(ClaimStatus.InFlight, duplicate.Status);
        Assert.Equal(ClaimStatus.Completed, replay.Status);
        Assert.Equal(claimedVersion, afterDuplicate);
        Assert.NotEqual(claimedVersion, completedVersion); // the probe sees a write when there is one
        Assert.Equal(completedVersion, afterReplay);
    }

    /// <summary>
    /// The row's physical version: the transaction that wrote it (<c>xmin</c>), the one that last locked or replaced it
    /// (<c>xmax</c>) and where it lies (<c>ctid</c>). Any write or row lock changes at least one of them.
    /// </summary>
    private async Task<string> RowVersionAsync(string key)
    {
        await using var connection = await _database.DataSource.OpenConnectionAsync();
        return await connection.QuerySingleAsync<string>(
            "SELECT xmin::text || '/' || xmax::text || '/' || ctid::text FROM idempotency_records WHERE key = @key", new { key });
    }

    /// <summary>Runs <paramref name="operation"/>: its result, how many statements the server ran for it, and the first word of the last one.</summary>
    private async Task<(T Result, int Statements, string Verb)> CountAsync<T>(Func<Task<T>> operation)
    {
        var (result, statements) = await _counter.CountAsync(operation);
        return (result, statements.Count, statements.Count == 0 ? string.Empty : ServerStatementCounter.Verb(statements[^1]));
    }
}
