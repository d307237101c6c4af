using Idempotency.Redis.Tests.Infrastructure;

namespace Idempotency.Redis.Tests.ConditionalWrites;

/// <summary>
/// Counts, on a server of their own, the commands each conditional write sends (from the server's slow log, as
/// <see cref="RedisStoreRoundTripTests"/> does): every write must be one round trip, the check inside it.
/// </summary>
[Collection(RedisCollection.Name)]
public sealed class RedisConditionalWriteRoundTripTests : IAsyncLifetime
{
    private RedisServer? _server;
    private RedisAdmin? _admin;
    private RedisConditionalWriteHost? _host;

    private RedisAdmin Admin => _admin!;

    public async Task InitializeAsync()
    {
        _server = await RedisServer.StartAsync();
        _admin = await RedisAdmin.ConnectAsync(_server);
        _host = await RedisConditionalWriteHost.StartAsync(_server.ConnectionString());

        // Teach the server the scripts, as the first call of each does: the counts below are the steady state.
        await _host.Records.CreateAsync("warm-up", new byte[] { 1 }, default);
        await _host.Records.UpdateIfVersionAsync("warm-up", 1, new byte[] { 2 }, default);
        await _host.Streams.AppendIfLastAsync("warm-up", 0, new byte[] { 1 }, default);
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
    public async Task EveryWrite_IsOneCommand_WhetherAppliedOrRefused()
    {
        var id = Guid.NewGuid().ToString("N");
        await Admin.StartCountingCommandsAsync();

        var created = await _host!.Records.CreateAsync(id, new byte[] { 1 }, default);
        var refusedCreate = await _host.Records.CreateAsync(id, new byte[] { 1 }, default);
        var updated = await _host.Records.UpdateIfVersionAsync(id, 1, new byte[] { 2 }, default);
        var conflict = await _host.Records.UpdateIfVersionAsync(id, 1, new byte[] { 3 }, default);
        var missing = await _host.Records.UpdateIfVersionAsync(id + "-missing", 1, new byte[] { 3 }, default);
        var appended = await _host.Streams.AppendIfLastAsync(id, 0, new byte[] { 1 }, default);
        var refusedAppend = await _host.Streams.AppendIfLastAsync(id, 0, new byte[] { 1 }, default);
        var commands = await Admin.CommandsSinceResetAsync();

        Assert.Equal(
            [ConditionalWriteResult.Applied(1), ConditionalWriteResult.VersionConflict(1), ConditionalWriteResult.Applied(2), ConditionalWriteResult.VersionConflict(2), ConditionalWriteResult.NotFound(), ConditionalWriteResult.Applied(1), ConditionalWriteResult.VersionConflict(1)],
            [created, refusedCreate, updated, conflict, missing, appended, refusedAppend]);
        Assert.Equal(new Dictionary<string, long> { ["evalsha"] = 7 }, commands);
    }

    [Fact]
    public async Task EveryRead_IsOneCommand()
    {
        var id = Guid.NewGuid().ToString("N");
        await _host!.Records.CreateAsync(id, new byte[] { 1 }, default);
        await _host.Streams.AppendIfLastAsync(id, 0, new byte[] { 1 }, default);
        await Admin.StartCountingCommandsAsync();

        await _host.Records.GetAsync(id, default);
        await _host.Streams.GetLastSequenceAsync(id, default);
        await _host.Streams.ReadAsync(id, 1, 10, default);
        var commands = await Admin.CommandsSinceResetAsync();

        Assert.Equal(new Dictionary<string, long> { ["hmget"] = 1, ["llen"] = 1, ["lrange"] = 1 }, commands);
    }

    [Fact]
    public async Task Scripts_AreSentAgainOnce_AfterRedisLosesThem()
    {
        var id = Guid.NewGuid().ToString("N");
        await _host!.Streams.AppendIfLastAsync(id, 0, new byte[] { 1 }, default);
        await Admin.Server.ScriptFlushAsync();
        await Admin.StartCountingCommandsAsync();

        var first = await _host.Streams.AppendIfLastAsync(id, 1, new byte[] { 2 }, default);
        var afterFirst = await Admin.CommandsSinceResetAsync();
        await Admin.StartCountingCommandsAsync();
        var second = await _host.Streams.AppendIfLastAsync(id, 2, new byte[] { 3 }, default);
        var afterSecond = await Admin.CommandsSinceResetAsync();

        Assert.Equal(ConditionalWriteResult.Applied(2), first);
        Assert.Equal(new Dictionary<string, long> { ["eval"] = 1, ["evalsha"] = 1 }, afterFirst); // NOSCRIPT, then EVAL
        Assert.Equal(ConditionalWriteResult.Applied(3), second);
        Assert.Equal(new Dictionary<string, long> { ["evalsha"] = 1 }, afterSecond);
    }
}
