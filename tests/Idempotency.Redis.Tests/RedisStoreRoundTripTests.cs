using Idempotency.Redis.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using static Idempotency.Redis.Tests.Infrastructure.TestPayloads;

namespace Idempotency.Redis.Tests;

/// <summary>
/// Counts, on a server of their own, the commands that reached Redis for each store operation (from the server's
/// slow log at threshold 0, which records each client command once and the commands scripts run apart): the
/// measure of round trips, taken where no client-side counter could fake it.
/// </summary>
[Collection(RedisCollection.Name)]
public sealed class RedisStoreRoundTripTests : IAsyncLifetime
{
    private RedisServer? _server;
    private RedisAdmin? _admin;
    private RedisStoreHost? _host;

    private RedisAdmin Admin => _admin!;

    private IIdempotencyStore Store => _host!.Store;

    public async Task InitializeAsync()
    {
        _server = await RedisServer.StartAsync();
        _admin = await RedisAdmin.ConnectAsync(_server);
        _host = await RedisStoreHost.StartAsync(idempotency => idempotency.AddRedisStore(_server.ConnectionString()));
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        if (_admin is not null)
        {
            await _admin.DisposeAsync();
        }

        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    [Fact]
    public async Task NewKey_CostsExactlyTwoCommands_ClaimAndComplete()
    {
        var key = NewKey();
        var owner = NewOwner();
        await Admin.StartCountingCommandsAsync();

        var claim = await Store.ClaimAsync(Claim(key, owner), default);
        var completion = await Store.CompleteAsync(Complete(key, owner, [1, 2, 3]), default);
        var commands = await Admin.CommandsSinceResetAsync();

        Assert.Equal(ClaimStatus.Claimed, claim.Status);
        Assert.Equal(CompletionStatus.Completed, completion);
        Assert.Equal(new Dictionary<string, long> { ["evalsha"] = 2 }, commands);
    }

    [Fact]
    public async Task Replay_CostsExactlyOneCommand()
    {
        var key = NewKey();
        var owner = NewOwner();
        await Store.ClaimAsync(Claim(key, owner), default);
        await Store.CompleteAsync(Complete(key, owner, [1, 2, 3]), default);
        await Admin.StartCountingCommandsAsync();

        var replay = await Store.ClaimAsync(Claim(key, NewOwner()), default);
        var commands = await Admin.CommandsSinceResetAsync();

        Assert.Equal(ClaimStatus.Completed, replay.Status);
        Assert.Equal(new Dictionary<string, long> { ["evalsha"] = 1 }, commands);
    }

    [Fact]
    public async Task InFlightClaimAndRelease_CostOneCommandEach()
    {
        var key = NewKey();
        var owner = NewOwner();
        await Store.ClaimAsync(Claim(key, owner), default);
        await Admin.StartCountingCommandsAsync();

        var duplicate = await Store.ClaimAsync(Claim(key, NewOwner()), default);
        var afterDuplicate = await Admin.CommandsSinceResetAsync();
        await Admin.StartCountingCommandsAsync();
        var released = await Store.ReleaseAsync(key, owner, default);
        var afterRelease = await Admin.CommandsSinceResetAsync();

        Assert.Equal(ClaimStatus.InFlight, duplicate.Status);
        Assert.True(released);
        Assert.Equal(new Dictionary<string, long> { ["evalsha"] = 1 }, afterDuplicate);
        Assert.Equal(new Dictionary<string, long> { ["evalsha"] = 1 }, afterRelease);
    }

    [Fact]
    public async Task Startup_LoadsTheScripts_SoTheFirstCallOfAFreshStoreIsOneCommand()
    {
        // A second store over the same server, started after the reset: its start-up loads the scripts, and its very
        // first claim is then a single EVALSHA.
        var key = NewKey();
        await Admin.StartCountingCommandsAsync();
        await using var fresh = await RedisStoreHost.StartAsync(idempotency => idempotency.AddRedisStore(_server!.ConnectionString()));
        var afterStartup = await Admin.CommandsSinceResetAsync();
        await Admin.StartCountingCommandsAsync();

        var claim = await fresh.Store.ClaimAsync(Claim(key, NewOwner()), default);
        var afterClaim = await Admin.CommandsSinceResetAsync();

        Assert.Equal(ClaimStatus.Claimed, claim.Status);
        Assert.Equal(RedisScript.All.Count, afterStartup.GetValueOrDefault("script|load"));
        Assert.Equal(new Dictionary<string, long> { ["evalsha"] = 1 }, afterClaim);
    }

    [Fact]
    public async Task Scripts_AreSentAgainOnce_AfterRedisLosesThem()
    {
        var key = NewKey();
        var owner = NewOwner();
        await Store.ClaimAsync(Claim(key, owner), default);
        await Store.CompleteAsync(Complete(key, owner, [4, 2]), default);
        await Admin.Server.ScriptFlushAsync();
        await Admin.StartCountingCommandsAsync();

        var firstReplay = await Store.ClaimAsync(Claim(key, NewOwner()), default);
        var afterFirst = await Admin.CommandsSinceResetAsync();
        await Admin.StartCountingCommandsAsync();
        var secondReplay = await Store.ClaimAsync(Claim(key, NewOwner()), default);
        var afterSecond = await Admin.CommandsSinceResetAsync();

        Assert.Equal(ClaimStatus.Completed, firstReplay.Status);
        Assert.Equal(new byte[] { 4, 2 }, firstReplay.Payload.ToArray());
        Assert.Equal(new Dictionary<string, long> { ["eval"] = 1, ["evalsha"] = 1 }, afterFirst); // NOSCRIPT, then EVAL
        Assert.Equal(ClaimStatus.Completed, secondReplay.Status);
        Assert.Equal(new Dictionary<string, long> { ["evalsha"] = 1 }, afterSecond);
        Assert.Single(_host!.LogsWithId(RedisLogEvents.ScriptReloaded));
    }
}
