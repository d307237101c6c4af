using Idempotency.Redis.Tests.ConditionalWrites;
using Idempotency.Redis.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using static Idempotency.Redis.Tests.Infrastructure.TestPayloads;

namespace Idempotency.Redis.Tests;

/// <summary>
/// What a fail-over does to a call in flight, made to happen on purpose: the server a call went to became a replica
/// (it answers <c>READONLY</c>, and the script wrote nothing), the connection dropped before the call ran, the primary
/// was killed and its replica promoted seconds later, or a primary emptied (restarted without its data) answers while
/// its former replica holds the claim. A completion is sent again to the primary until its claim's lease ends, whether
/// Redis never ran it, its answer was lost (it recognises what it stored) or a node no replica acknowledges answered
/// "no record"; a claim is refused, not sent again; a conditional write that never ran is sent again. Each test has
/// servers of its own: they change roles or drop connections.
/// </summary>
[Collection(RedisCollection.Name)]
public sealed class RedisTopologyChangeTests
{
    private static readonly TimeSpan s_hangGuard = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public async Task Complete_ReachesTheNewPrimary_WhenTheServerItWasSentToBecameAReplica(int replicaAcknowledgements)
    {
        await using var servers = await ServerPair.StartAsync();
        var (first, second) = (servers.First, servers.Second);
        await using var host = await RedisStoreHost.StartAsync(idempotency => idempotency.AddRedisStore(
            $"{first.EndPoint},{second.EndPoint},configCheckSeconds=600",
            options => options.ReplicaAcknowledgements = replicaAcknowledgements));
        var held = NewKey();
        var owner = NewOwner();
        Assert.Equal(ClaimStatus.Claimed, (await host.Store.ClaimAsync(Claim(held, owner), default)).Status);
        await WaitUntilReplicatedAsync(first);

        await SwapRolesAsync(first, second);

        var completion = await host.Store.CompleteAsync(Complete(held, owner, [9]), default).AsTask().WaitAsync(s_hangGuard);
        var replay = await host.Store.ClaimAsync(Claim(held, NewOwner()), default).AsTask().WaitAsync(s_hangGuard);

        Assert.Equal(CompletionStatus.Completed, completion);
        Assert.Equal(ClaimStatus.Completed, replay.Status);
        Assert.Equal(new byte[] { 9 }, replay.Payload.ToArray());
        Assert.NotEmpty(host.LogsWithId(RedisLogEvents.CallSentAgain));
        Assert.Empty(host.LogsWithId(RedisLogEvents.OperationFailed));
    }

    [Fact]
    public async Task Complete_IsSentAgainUntilTheClaimsLeaseEnds_WhileNoPrimaryServesTheKey()
    {
        // The primary is killed, and no node takes writes until its replica is promoted (after cluster-node-timeout, or
        // Sentinel's down-after-milliseconds): here 2 s, longer than the first second of resends. The claim's lease
        // runs for minutes, and nobody else can run the work before it ends, so the completion keeps trying until then.
        await using var servers = await ServerPair.StartAsync();
        var (first, second) = (servers.First, servers.Second);
        await using var third = await RedisServer.StartAsync("--repl-diskless-sync-delay", "0");
        await using var host = await RedisStoreHost.StartAsync(idempotency => idempotency.AddRedisStore(
            $"{first.EndPoint},{second.EndPoint},configCheckSeconds=600",
            options =>
            {
                options.ReplicaAcknowledgements = 1;
                options.ReplicaAcknowledgementTimeout = TimeSpan.FromSeconds(3); // time for the new replica's first sync
            }));
        var key = NewKey();
        var owner = NewOwner();
        var claim = await host.Store.ClaimAsync(Claim(key, owner), default);
        Assert.Equal(ClaimStatus.Claimed, claim.Status);

        await first.StopAsync();
        var completion = host.Store.CompleteAsync(Complete(key, owner, [7], leaseExpiresAt: claim.LeaseExpiresAt), default).AsTask();
        await Task.Delay(RedisResend.Window * 2);
        await PromoteAsync(second);
        await FollowAsync(third, second);

        Assert.Equal(CompletionStatus.Completed, await completion.WaitAsync(s_hangGuard));
        var replay = await host.Store.ClaimAsync(Claim(key, NewOwner()), default);
        Assert.Equal(ClaimStatus.Completed, replay.Status);
        Assert.Equal(new byte[] { 7 }, replay.Payload.ToArray());
        Assert.Single(host.LogsWithId(RedisLogEvents.CallSentAgain)); // the first resend only, not each of them
    }

    [Fact]
    public async Task Complete_AnsweredNoRecordByANodeThatNoReplicaAcknowledges_IsSentAgain_AndReachesThePrimaryThatHasTheClaim()
    {
        // A killed primary restarted without its data, and still takes itself for the primary until it hears of the
        // replica promoted in its place: it answers "no record" to the completion of a claim that lives on that replica
        // (ReplicaAcknowledgements put it there before the work ran). Trusted, that answer loses the outcome of work
        // that has run (ClaimLost), and a retry runs it again. No replica acknowledges the node, so it is not trusted.
        await using var servers = await ServerPair.StartAsync();
        var (first, second) = (servers.First, servers.Second);
        await using var host = await RedisStoreHost.StartAsync(idempotency => idempotency.AddRedisStore(
            $"{first.EndPoint},{second.EndPoint},configCheckSeconds=600",
            options =>
            {
                options.ReplicaAcknowledgements = 1;
                options.ReplicaAcknowledgementTimeout = TimeSpan.FromSeconds(3);
            }));
        var key = NewKey();
        var owner = NewOwner();
        var claim = await host.Store.ClaimAsync(Claim(key, owner), default);
        Assert.Equal(ClaimStatus.Claimed, claim.Status);
        await PromoteAsync(second);
        await using (var admin = await RedisAdmin.ConnectAsync(first))
        {
            await admin.Server.ExecuteAsync("FLUSHALL");

            var completion = host.Store.CompleteAsync(Complete(key, owner, [5], leaseExpiresAt: claim.LeaseExpiresAt), default).AsTask();
            await WaitUntilAClientRunsAsync(admin, "cmd=wait"); // the script answered; its WAIT finds no replica
            await FollowAsync(first, second); // the old primary hears of the new one

            Assert.Equal(CompletionStatus.Completed, await completion.WaitAsync(s_hangGuard));
        }

        var replay = await host.Store.ClaimAsync(Claim(key, NewOwner()), default);
        Assert.Equal(ClaimStatus.Completed, replay.Status);
        Assert.Equal(new byte[] { 5 }, replay.Payload.ToArray());
        Assert.Contains(host.LogsWithId(RedisLogEvents.CallSentAgain), log => log.Message.Contains("no record", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Claim_SentToAServerThatBecameAReplica_IsRefused_NotSentAgain()
    {
        // A refused claim runs nothing (503), and the refusal is what tells a client that a fail-over was under way.
        await using var servers = await ServerPair.StartAsync();
        var (first, second) = (servers.First, servers.Second);
        await using var host = await RedisStoreHost.StartAsync(idempotency => idempotency.AddRedisStore($"{first.EndPoint},{second.EndPoint},configCheckSeconds=600"));
        Assert.Equal(ClaimStatus.Claimed, (await host.Store.ClaimAsync(Claim(NewKey(), NewOwner()), default)).Status);

        await SwapRolesAsync(first, second);

        var failure = await Assert.ThrowsAsync<IdempotencyStoreException>(() => host.Store.ClaimAsync(Claim(NewKey(), NewOwner()), default).AsTask().WaitAsync(s_hangGuard));
        Assert.StartsWith("READONLY", Assert.IsType<RedisServerException>(failure.InnerException).Message, StringComparison.Ordinal);
        Assert.Empty(host.LogsWithId(RedisLogEvents.CallSentAgain));
    }

    [Fact]
    public async Task ConditionalWrites_ReachTheNewPrimary_WhenTheServerTheyWereSentToBecameAReplica()
    {
        // A compare-and-set that met READONLY wrote nothing, so it is sent again; one whose connection dropped is not
        // (sent twice, it would find its own write and answer a version conflict).
        await using var servers = await ServerPair.StartAsync();
        var (first, second) = (servers.First, servers.Second);
        await using var host = await RedisConditionalWriteHost.StartAsync($"{first.EndPoint},{second.EndPoint},configCheckSeconds=600");
        var id = Guid.NewGuid().ToString();
        Assert.True((await host.Records.CreateAsync(id, new byte[] { 1 }, default)).IsApplied);
        Assert.True((await host.Streams.AppendIfLastAsync(id, 0, new byte[] { 1 }, default)).IsApplied);
        await WaitUntilReplicatedAsync(first);

        await SwapRolesAsync(first, second);

        var update = await host.Records.UpdateIfVersionAsync(id, 1, new byte[] { 2 }, default).AsTask().WaitAsync(s_hangGuard);
        var append = await host.Streams.AppendIfLastAsync(id, 1, new byte[] { 2 }, default).AsTask().WaitAsync(s_hangGuard);

        Assert.Equal(ConditionalWriteResult.Applied(2), update);
        Assert.Equal(ConditionalWriteResult.Applied(2), append);
        Assert.Equal(new byte[] { 2 }, (await host.Records.GetAsync(id, default))!.Value.ToArray());
        // The update met READONLY, and its resend is logged once; the append went out after the topology was read anew.
        var sentAgain = Assert.Single(host.LogsWithId(RedisLogEvents.ConditionalWriteSentAgain));
        Assert.Contains("(record-update)", sentAgain.Message, StringComparison.Ordinal);
        Assert.Contains("READONLY", sentAgain.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Complete_WhoseConnectionDroppedBeforeRedisRanIt_IsSentAgain_AndRecordsTheOutcome()
    {
        await using var server = await RedisServer.StartAsync();
        await using var host = await RedisStoreHost.StartAsync(idempotency => idempotency.AddRedisStore(server.ConnectionString()));
        await using var admin = await RedisAdmin.ConnectAsync(server);
        var key = NewKey();
        var owner = NewOwner();
        Assert.Equal(ClaimStatus.Claimed, (await host.Store.ClaimAsync(Claim(key, owner), default)).Status);

        var completion = await DropTheConnectionBeforeItRunsAsync(admin, () => host.Store.CompleteAsync(Complete(key, owner, [3, 1]), default).AsTask());

        Assert.Equal(CompletionStatus.Completed, await completion.WaitAsync(s_hangGuard));
        var replay = await host.Store.ClaimAsync(Claim(key, NewOwner()), default);
        Assert.Equal(ClaimStatus.Completed, replay.Status);
        Assert.Equal(new byte[] { 3, 1 }, replay.Payload.ToArray());
        Assert.NotEmpty(host.LogsWithId(RedisLogEvents.CallSentAgain));
    }

    [Fact]
    public async Task Claim_WhoseConnectionDropped_IsRefused_NotSentAgain()
    {
        // Whether a claim that lost its answer ran is unknown: sending it again could find its own claim and answer "in
        // flight" to the very caller that holds it. The caller is refused (503) and the claim, if it landed, ends with its lease.
        await using var server = await RedisServer.StartAsync();
        await using var host = await RedisStoreHost.StartAsync(idempotency => idempotency.AddRedisStore(server.ConnectionString()));
        await using var admin = await RedisAdmin.ConnectAsync(server);

        var claim = await DropTheConnectionBeforeItRunsAsync(admin, () => host.Store.ClaimAsync(Claim(NewKey(), NewOwner()), default).AsTask());

        var failure = await Assert.ThrowsAsync<IdempotencyStoreException>(() => claim.WaitAsync(s_hangGuard));
        Assert.IsType<RedisConnectionException>(failure.InnerException);
        Assert.Empty(host.LogsWithId(RedisLogEvents.CallSentAgain));
    }

    /// <summary>The roles swap behind the clients' back: a multiplexer that does not look again still takes <paramref name="primary"/> for the primary.</summary>
    private static async Task SwapRolesAsync(RedisServer primary, RedisServer replica)
    {
        await PromoteAsync(replica);
        await FollowAsync(primary, replica);
        await WaitUntilReplicatedAsync(replica);
    }

    /// <summary>
    /// Starts <paramref name="call"/> while writes are paused, so it waits in the server (<c>flags=b</c> in CLIENT LIST),
    /// then closes its connection under it: the server drops the paused command with the connection, and the client sees
    /// the connection close with no answer. Returns the call, to be awaited.
    /// </summary>
    private static async Task<Task<T>> DropTheConnectionBeforeItRunsAsync<T>(RedisAdmin admin, Func<Task<T>> call)
    {
        await admin.Server.ExecuteAsync("CLIENT", "PAUSE", "10000", "WRITE");
        var running = call();
        await WaitUntilAClientIsPausedAsync(admin);
        await admin.Server.ExecuteAsync("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes");
        await admin.Server.ExecuteAsync("CLIENT", "UNPAUSE");
        return running;
    }

    /// <summary>A replica takes over as primary (what a cluster or Sentinel does once its primary is down).</summary>
    private static async Task PromoteAsync(RedisServer replica)
    {
        await using var admin = await RedisAdmin.ConnectAsync(replica);
        await admin.Server.ExecuteAsync("REPLICAOF", "NO", "ONE");
    }

    private static async Task FollowAsync(RedisServer replica, RedisServer primary)
    {
        await using var admin = await RedisAdmin.ConnectAsync(replica);
        await admin.Server.ExecuteAsync("REPLICAOF", "127.0.0.1", primary.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var deadline = DateTime.UtcNow + s_hangGuard;
        while (!((string?)await admin.Server.ExecuteAsync("INFO", "replication"))!.Contains("master_link_status:up", StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < deadline, $"{replica.EndPoint} did not finish syncing with {primary.EndPoint}.");
            await Task.Delay(20);
        }
    }

    private static async Task WaitUntilReplicatedAsync(RedisServer primary)
    {
        await using var admin = await RedisAdmin.ConnectAsync(primary);
        // WAIT counts the replicas that have every write of its own connection: write on it first, behind the store's
        // writes. It returns once the primary counts the replica as online, which its own INFO can say later than the replica's.
        await admin.Database.StringSetAsync("replication-barrier", "1");
        Assert.Equal(1L, (long)await admin.Server.ExecuteAsync("WAIT", "1", "5000"));
    }

    private static Task WaitUntilAClientIsPausedAsync(RedisAdmin admin) => WaitUntilAClientRunsAsync(admin, "flags=b ");

    /// <summary>Waits until a client's line in <c>CLIENT LIST</c> contains <paramref name="marker"/>: the call has reached the server.</summary>
    private static async Task WaitUntilAClientRunsAsync(RedisAdmin admin, string marker)
    {
        var deadline = DateTime.UtcNow + s_hangGuard;
        while (!((string?)await admin.Server.ExecuteAsync("CLIENT", "LIST"))!.Contains(marker, StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < deadline, $"No client showed '{marker}' in CLIENT LIST: the call never reached the server.");
            await Task.Delay(5);
        }
    }

    /// <summary>Two servers of their own, the second replicating the first and in sync with it.</summary>
    private sealed class ServerPair(RedisServer first, RedisServer second) : IAsyncDisposable
    {
        public RedisServer First => first;

        public RedisServer Second => second;

        public static async Task<ServerPair> StartAsync()
        {
            // No delay before a full sync (Redis waits 5 s by default for more replicas to share a diskless one).
            var first = await RedisServer.StartAsync("--repl-diskless-sync-delay", "0");
            RedisServer? second = null;
            try
            {
                second = await RedisServer.StartAsync("--repl-diskless-sync-delay", "0");
                await FollowAsync(second, first);
                await WaitUntilReplicatedAsync(first);
                return new ServerPair(first, second);
            }
            catch
            {
                if (second is not null)
                {
                    await second.DisposeAsync();
                }

                await first.DisposeAsync();
                throw;
            }
        }

        public async ValueTask DisposeAsync()
        {
            await first.DisposeAsync();
            await second.DisposeAsync();
        }
    }
}
