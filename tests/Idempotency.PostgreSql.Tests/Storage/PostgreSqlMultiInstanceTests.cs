using System.Security.Cryptography;
using Idempotency.PostgreSql.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Idempotency.PostgreSql.Tests.Storage;

/// <summary>Two store instances with pools of their own (as two service instances would have) sharing one table.</summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlMultiInstanceTests(PostgreSqlFixture fixture) : IAsyncLifetime
{
    private static readonly byte[] s_fingerprint = SHA256.HashData("a"u8);
    private NpgsqlDataSource _firstDataSource = null!;
    private NpgsqlDataSource _secondDataSource = null!;
    private PostgreSqlIdempotencyStore _first = null!;
    private PostgreSqlIdempotencyStore _second = null!;

    public Task InitializeAsync()
    {
        _firstDataSource = NpgsqlDataSource.Create(fixture.ConnectionString);
        _secondDataSource = NpgsqlDataSource.Create(fixture.ConnectionString);
        _first = Store(_firstDataSource);
        _second = Store(_secondDataSource);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _firstDataSource.DisposeAsync();
        await _secondDataSource.DisposeAsync();
    }

    [Fact]
    public async Task ConcurrentClaims_SpreadOverTwoInstances_HaveExactlyOneWinner()
    {
        const int claimers = 64;
        for (var round = 0; round < 5; round++)
        {
            var key = Guid.NewGuid().ToString();
            using var start = new ManualResetEventSlim();
            var tasks = Enumerable.Range(0, claimers).Select(i => Task.Run(async () =>
            {
                var store = i % 2 == 0 ? _first : _second;
                start.Wait();
                return (await store.ClaimAsync(new IdempotencyClaimRequest(key, s_fingerprint, Guid.NewGuid().ToString("N"), TimeSpan.FromMinutes(1)), default)).Status;
            })).ToArray();
            start.Set();

            var statuses = await Task.WhenAll(tasks);

            Assert.Equal(1, statuses.Count(s => s == ClaimStatus.Claimed));
            Assert.Equal(claimers - 1, statuses.Count(s => s == ClaimStatus.InFlight));
        }
    }

    [Fact]
    public async Task Completion_ByOneInstance_IsReplayedByTheOther()
    {
        var key = Guid.NewGuid().ToString();
        await _first.ClaimAsync(new IdempotencyClaimRequest(key, s_fingerprint, "owner", TimeSpan.FromMinutes(1)), default);
        var inFlightOnSecond = await _second.ClaimAsync(new IdempotencyClaimRequest(key, s_fingerprint, "other", TimeSpan.FromMinutes(1)), default);
        await _first.CompleteAsync(new IdempotencyCompleteRequest(key, "owner", new byte[] { 4, 2 }, TimeSpan.FromMinutes(1)), default);

        var replayOnSecond = await _second.ClaimAsync(new IdempotencyClaimRequest(key, s_fingerprint, "third", TimeSpan.FromMinutes(1)), default);

        Assert.Equal(ClaimStatus.InFlight, inFlightOnSecond.Status);
        Assert.Equal(ClaimStatus.Completed, replayOnSecond.Status);
        Assert.Equal(new byte[] { 4, 2 }, replayOnSecond.Payload.ToArray());
    }

    [Fact]
    public async Task ConcurrentClaimsAndCompletion_AcrossInstances_NeverLetASecondOwnerIn()
    {
        // The owner completes while 64 duplicates arrive at both instances: each sees in flight or completed, never a claim.
        var key = Guid.NewGuid().ToString();
        await _first.ClaimAsync(new IdempotencyClaimRequest(key, s_fingerprint, "owner", TimeSpan.FromMinutes(1)), default);
        using var start = new ManualResetEventSlim();
        var duplicates = Enumerable.Range(0, 64).Select(i => Task.Run(async () =>
        {
            var store = i % 2 == 0 ? _first : _second;
            start.Wait();
            return (await store.ClaimAsync(new IdempotencyClaimRequest(key, s_fingerprint, Guid.NewGuid().ToString("N"), TimeSpan.FromMinutes(1)), default)).Status;
        })).ToArray();
        var completion = Task.Run(async () =>
        {
            start.Wait();
            return await _first.CompleteAsync(new IdempotencyCompleteRequest(key, "owner", new byte[] { 1 }, TimeSpan.FromMinutes(1)), default);
        });
        start.Set();

        var statuses = await Task.WhenAll(duplicates);

        Assert.Equal(CompletionStatus.Completed, await completion);
        Assert.All(statuses, s => Assert.Contains(s, new[] { ClaimStatus.InFlight, ClaimStatus.Completed }));
    }

    private static PostgreSqlIdempotencyStore Store(NpgsqlDataSource dataSource) =>
        new(new PostgreSqlIdempotencyDatabase(dataSource, ownsDataSource: false, new PostgreSqlIdempotencyStoreOptions()), NullLogger<PostgreSqlIdempotencyStore>.Instance);
}
