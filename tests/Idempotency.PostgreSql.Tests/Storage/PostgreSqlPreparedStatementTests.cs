using System.Security.Cryptography;
using Dapper;
using Idempotency.PostgreSql.Tests.Infrastructure;

namespace Idempotency.PostgreSql.Tests.Storage;

/// <summary>
/// The store prepares its statements on the connection unless told not to (behind a pooler that cannot carry them),
/// and works the same either way. Checked on the server: <c>pg_prepared_statements</c> of the one pooled connection.
/// </summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlPreparedStatementTests(PostgreSqlFixture fixture)
{
    private static readonly byte[] s_fingerprint = SHA256.HashData("a"u8);

    [Theory]
    [InlineData(true, 3)]   // claim, complete, release
    [InlineData(false, 0)]
    public async Task Statements_ArePreparedOnTheConnection_OnlyWhenPrepareStatementsIsOn(bool prepare, long expectedPrepared)
    {
        // One physical connection, so the check below looks at the very connection the store used.
        await using var database = (await fixture.CreateOwnDatabaseAsync(new() { PrepareStatements = prepare }, "Maximum Pool Size=1")).Database;
        var store = fixture.CreateStore(database);

        var claim = await store.ClaimAsync(new IdempotencyClaimRequest("k1", s_fingerprint, "owner-1", TimeSpan.FromMinutes(1)), default);
        var completion = await store.CompleteAsync(new IdempotencyCompleteRequest("k1", "owner-1", new byte[] { 7 }, TimeSpan.FromMinutes(1)), default);
        var replay = await store.ClaimAsync(new IdempotencyClaimRequest("k1", s_fingerprint, "owner-2", TimeSpan.FromMinutes(1)), default);
        await store.ClaimAsync(new IdempotencyClaimRequest("k2", s_fingerprint, "owner-3", TimeSpan.FromMinutes(1)), default);
        var released = await store.ReleaseAsync("k2", "owner-3", default);
        await using var connection = await database.DataSource.OpenConnectionAsync();
        var prepared = await connection.QuerySingleAsync<long>("SELECT count(*) FROM pg_prepared_statements WHERE statement ILIKE '%idempotency_records%'");

        Assert.Equal(ClaimStatus.Claimed, claim.Status);
        Assert.Equal(CompletionStatus.Completed, completion);
        Assert.Equal(ClaimStatus.Completed, replay.Status);
        Assert.Equal(new byte[] { 7 }, replay.Payload.ToArray());
        Assert.True(released);
        Assert.Equal(expectedPrepared, prepared);
    }
}
