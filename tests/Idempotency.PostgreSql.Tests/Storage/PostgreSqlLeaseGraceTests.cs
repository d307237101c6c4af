using System.Security.Cryptography;
using System.Text;
using Dapper;
using Idempotency.PostgreSql.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;

namespace Idempotency.PostgreSql.Tests.Storage;

/// <summary>
/// The lease grace: an owner whose lease has ended may still complete or release its claim while nobody else has
/// claimed the key, for PostgreSqlIdempotencyStoreOptions.LeaseGracePeriod after the lease, and the
/// cleanup service leaves its record alone for that long. Each test uses a table of its own, so that a cleanup pass
/// sees only its rows. Leases end by the database's clock: either for real (the test waits until the database says
/// the lease is over) or by moving the row's lease end into the past, for graces too long to wait for.
/// </summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlLeaseGraceTests(PostgreSqlFixture fixture)
{
    private static readonly TimeSpan s_longLease = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan s_retention = TimeSpan.FromHours(1);

    [Fact]
    public async Task Complete_Succeeds_AfterTheLeaseEnded_AndACleanupPassRan_AndIsThenReplayed()
    {
        var database = await fixture.CreateTableAsync(PostgreSqlFixture.IsolatedTable("grace"));
        var store = fixture.CreateStore(database);
        var (key, owner) = (NewKey(), NewOwner());
        await ClaimAsync(store, key, owner, TimeSpan.FromMilliseconds(100));
        await WaitUntilTheLeaseEndedAsync(database, key);

        var deleted = await CleanupPassAsync(database);
        var completion = await store.CompleteAsync(new IdempotencyCompleteRequest(key, owner, "slow but done"u8.ToArray(), s_retention), default);
        var replay = await store.ClaimAsync(Claim(key, NewOwner()), default);

        Assert.Equal(0, deleted);
        Assert.Equal(CompletionStatus.Completed, completion);
        Assert.Equal(ClaimStatus.Completed, replay.Status);
        Assert.Equal("slow but done"u8.ToArray(), replay.Payload.ToArray());
    }

    [Fact]
    public async Task Release_Succeeds_AfterTheLeaseEnded_AndACleanupPassRan_AndFreesTheKey()
    {
        var database = await fixture.CreateTableAsync(PostgreSqlFixture.IsolatedTable("grace"));
        var store = fixture.CreateStore(database);
        var (key, owner) = (NewKey(), NewOwner());
        await ClaimAsync(store, key, owner, s_longLease);
        await EndLeaseAsync(database, key, ago: TimeSpan.FromSeconds(30));

        await CleanupPassAsync(database);
        var released = await store.ReleaseAsync(key, owner, default);
        var rows = await RowCountAsync(database);

        Assert.True(released);
        Assert.Equal(0, rows);
    }

    [Fact]
    public async Task Complete_And_Release_ReturnClaimLost_OnceTheLeaseEndedMoreThanTheGraceAgo()
    {
        var database = await fixture.CreateTableAsync(PostgreSqlFixture.IsolatedTable("grace"));
        var store = fixture.CreateStore(database);
        var (key, owner) = (NewKey(), NewOwner());
        await ClaimAsync(store, key, owner, s_longLease);
        await EndLeaseAsync(database, key, ago: TimeSpan.FromMinutes(2)); // the default grace is 1 minute

        // No cleanup pass has run: the answer must not depend on whether one has.
        var completion = await store.CompleteAsync(new IdempotencyCompleteRequest(key, owner, new byte[] { 1 }, s_retention), default);
        var released = await store.ReleaseAsync(key, owner, default);
        var deleted = await CleanupPassAsync(database);
        var next = await store.ClaimAsync(Claim(key, NewOwner()), default);

        Assert.Equal(CompletionStatus.ClaimLost, completion);
        Assert.False(released);
        Assert.Equal(1, deleted);
        Assert.Equal(ClaimStatus.Claimed, next.Status);
    }

    [Fact]
    public async Task TakeOver_AfterTheLeaseEnded_FencesTheOldOwner_EvenWithinTheGrace()
    {
        var database = await fixture.CreateTableAsync(PostgreSqlFixture.IsolatedTable("grace"));
        var store = fixture.CreateStore(database);
        var (key, oldOwner, newOwner) = (NewKey(), NewOwner(), NewOwner());
        await ClaimAsync(store, key, oldOwner, s_longLease);
        await EndLeaseAsync(database, key, ago: TimeSpan.FromSeconds(5));

        var takeOver = await store.ClaimAsync(Claim(key, newOwner), default);
        await CleanupPassAsync(database);
        var oldCompletes = await store.CompleteAsync(new IdempotencyCompleteRequest(key, oldOwner, new byte[] { 1 }, s_retention), default);
        var oldReleases = await store.ReleaseAsync(key, oldOwner, default);
        var newCompletes = await store.CompleteAsync(new IdempotencyCompleteRequest(key, newOwner, new byte[] { 2 }, s_retention), default);
        var replay = await store.ClaimAsync(Claim(key, NewOwner()), default);

        Assert.Equal(ClaimStatus.Claimed, takeOver.Status);
        Assert.Equal(CompletionStatus.ClaimLost, oldCompletes);
        Assert.False(oldReleases);
        Assert.Equal(CompletionStatus.Completed, newCompletes);
        Assert.Equal(new byte[] { 2 }, replay.Payload.ToArray());
    }

    [Fact]
    public async Task Complete_ReturnsClaimLost_AsSoonAsTheLeaseHasEnded_WhenTheGraceIsZero()
    {
        var options = PostgreSqlFixture.IsolatedTable("grace");
        options.LeaseGracePeriod = TimeSpan.Zero;
        var database = await fixture.CreateTableAsync(options);
        var store = fixture.CreateStore(database);
        var (key, owner) = (NewKey(), NewOwner());
        await ClaimAsync(store, key, owner, s_longLease);
        await EndLeaseAsync(database, key, ago: TimeSpan.FromSeconds(1));

        var completion = await store.CompleteAsync(new IdempotencyCompleteRequest(key, owner, new byte[] { 1 }, s_retention), default);
        var deleted = await CleanupPassAsync(database);

        Assert.Equal(CompletionStatus.ClaimLost, completion);
        Assert.Equal(1, deleted);
    }

    [Fact]
    public async Task ConfiguredGrace_KeepsTheClaimItsOwners_ForAsLongAsItSays()
    {
        var options = PostgreSqlFixture.IsolatedTable("grace");
        options.LeaseGracePeriod = TimeSpan.FromMinutes(10);
        var database = await fixture.CreateTableAsync(options);
        var store = fixture.CreateStore(database);
        var (key, owner) = (NewKey(), NewOwner());
        await ClaimAsync(store, key, owner, s_longLease);
        await EndLeaseAsync(database, key, ago: TimeSpan.FromMinutes(5));

        var deleted = await CleanupPassAsync(database);
        var completion = await store.CompleteAsync(new IdempotencyCompleteRequest(key, owner, new byte[] { 1 }, s_retention), default);

        Assert.Equal(0, deleted);
        Assert.Equal(CompletionStatus.Completed, completion);
    }

    private static Task<long> CleanupPassAsync(PostgreSqlIdempotencyDatabase database) =>
        new PostgreSqlCleanupService(database, TimeProvider.System, NullLogger<PostgreSqlCleanupService>.Instance).DeleteExpiredAsync(default);

    private static async Task ClaimAsync(PostgreSqlIdempotencyStore store, string key, string owner, TimeSpan lease)
    {
        var claim = await store.ClaimAsync(new IdempotencyClaimRequest(key, Fingerprint, owner, lease), default);
        Assert.Equal(ClaimStatus.Claimed, claim.Status);
    }

    private static IdempotencyClaimRequest Claim(string key, string owner) => new(key, Fingerprint, owner, s_longLease);

    /// <summary>Moves the in-flight row's lease end <paramref name="ago"/> into the past, by the database's clock.</summary>
    private static async Task EndLeaseAsync(PostgreSqlIdempotencyDatabase database, string key, TimeSpan ago)
    {
        await using var connection = await database.DataSource.OpenConnectionAsync();
        var updated = await connection.ExecuteAsync(
            $"UPDATE {database.Sql.QualifiedTableName} SET expires_at = clock_timestamp() - @seconds * interval '1 second' WHERE key = @key",
            new { key, seconds = ago.TotalSeconds });
        Assert.Equal(1, updated);
    }

    /// <summary>Waits until the database's clock has passed the row's lease end (bounded, so a broken clock fails the test).</summary>
    private static async Task WaitUntilTheLeaseEndedAsync(PostgreSqlIdempotencyDatabase database, string key)
    {
        await using var connection = await database.DataSource.OpenConnectionAsync();
        for (var i = 0; i < 200; i++)
        {
            if (await connection.QuerySingleAsync<bool>(
                $"SELECT expires_at <= clock_timestamp() FROM {database.Sql.QualifiedTableName} WHERE key = @key", new { key }))
            {
                return;
            }

            await Task.Delay(25);
        }

        Assert.Fail("The lease did not end.");
    }

    private static async Task<long> RowCountAsync(PostgreSqlIdempotencyDatabase database)
    {
        await using var connection = await database.DataSource.OpenConnectionAsync();
        return await connection.QuerySingleAsync<long>($"SELECT count(*) FROM {database.Sql.QualifiedTableName}");
    }

    private static byte[] Fingerprint { get; } = SHA256.HashData(Encoding.UTF8.GetBytes("grace"));

    private static string NewKey() => IdempotencyStorageKey.Create("grace", Guid.NewGuid().ToString());

    private static string NewOwner() => Guid.NewGuid().ToString("N");
}
