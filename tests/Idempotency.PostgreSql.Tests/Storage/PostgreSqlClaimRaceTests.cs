using System.Security.Cryptography;
using Dapper;
using Idempotency.PostgreSql.Tests.Infrastructure;
using Npgsql;

namespace Idempotency.PostgreSql.Tests.Storage;

/// <summary>
/// The claim reads first and inserts only when its snapshot shows no live record. These tests put a concurrent
/// claimer's commit exactly between the two, the one interleaving that the read cannot see.
/// </summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlClaimRaceTests(PostgreSqlFixture fixture) : IAsyncLifetime
{
    // Not a timing assertion: a guard so that a claim stuck behind a lock fails the test instead of hanging the run.
    private static readonly TimeSpan s_hangGuard = TimeSpan.FromSeconds(30);
    private static readonly byte[] s_fingerprint = SHA256.HashData("a"u8);

    private PostgreSqlIdempotencyDatabase _database = null!;
    private PostgreSqlIdempotencyStore _store = null!;

    private NpgsqlDataSource DataSource => _database.DataSource;

    public async Task InitializeAsync()
    {
        (_database, _) = await fixture.CreateOwnDatabaseAsync();
        _store = fixture.CreateStore(_database);
    }

    public async Task DisposeAsync() => await _database.DisposeAsync();

    [Theory]
    [InlineData(1, "in flight")]
    [InlineData(2, "completed")]
    public async Task Claim_ThatMeetsARecordCommittedAfterItsSnapshot_ReportsThatRecord(short state, string _)
    {
        var key = Guid.NewGuid().ToString();
        await using var other = await DataSource.OpenConnectionAsync();
        await using var otherTransaction = await other.BeginTransactionAsync();
        await other.ExecuteAsync(
            """
            INSERT INTO idempotency_records (key, state, owner_token, fingerprint, payload, format_version, expires_at, created_at)
            VALUES (@key, @state, CASE WHEN @state = 1 THEN 'other-owner' END, @fingerprint, CASE WHEN @state = 2 THEN '\x2a'::bytea END, 1,
                    clock_timestamp() + interval '5 minutes', clock_timestamp())
            """,
            new { key, state, fingerprint = s_fingerprint },
            otherTransaction);

        // The claim's snapshot cannot see the uncommitted row; its insert queues on the row's unique index entry.
        var claim = _store.ClaimAsync(new IdempotencyClaimRequest(key, s_fingerprint, "late-owner", TimeSpan.FromMinutes(1)), default).AsTask();
        await WaitUntilAClaimWaitsOnALockAsync();
        await otherTransaction.CommitAsync();
        var result = await claim.WaitAsync(s_hangGuard);

        if (state == 1)
        {
            Assert.Equal(ClaimStatus.InFlight, result.Status);
            Assert.True(result.LeaseRemaining > TimeSpan.FromMinutes(4), $"the other owner's lease, not ours: {result.LeaseRemaining}");
        }
        else
        {
            Assert.Equal(ClaimStatus.Completed, result.Status);
            Assert.Equal(new byte[] { 0x2a }, result.Payload.ToArray());
        }
    }

    private async Task WaitUntilAClaimWaitsOnALockAsync()
    {
        await using var connection = await DataSource.OpenConnectionAsync();
        using var deadline = new CancellationTokenSource(s_hangGuard);
        while (await connection.QuerySingleAsync<long>(
                   "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()") == 0)
        {
            await Task.Delay(10, deadline.Token);
        }
    }
}
