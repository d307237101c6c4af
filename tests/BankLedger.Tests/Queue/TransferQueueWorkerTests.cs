using BankLedger.Endpoints;
using BankLedger.Ledger;
using BankLedger.Queue;
using BankLedger.Tests.Infrastructure;
using Dapper;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;

namespace BankLedger.Tests.Queue;

/// <summary>
/// The transfer queue worker in postgres mode against a real cluster: each message id is applied once, whatever the
/// number of its deliveries, and a command whose worker died comes back after its visibility timeout.
/// </summary>
[Collection(PostgreSqlSampleCollection.Name)]
public sealed class TransferQueueWorkerTests(PostgreSqlSampleFixture fixture)
{
    // Not a timing assertion: a guard so that a stuck worker fails the test instead of hanging it.
    private static readonly TimeSpan s_hangGuard = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Worker_AppliesEachMessageIdOnce_AcknowledgesItsDuplicates_AndEmptiesTheQueue()
    {
        var connectionString = await fixture.NewDatabaseAsync();
        await using var app = Worker(connectionString);
        var (from, to) = await OpenAccountsAsync(app, 10_000);
        var queue = app.Services.GetRequiredService<TransferQueue>();

        // Three messages; the first delivered three times, the second twice.
        string[] messageIds = ["m-1", "m-1", "m-2", "m-1", "m-3", "m-2"];
        foreach (var messageId in messageIds)
        {
            var amount = messageId switch { "m-1" => 100, "m-2" => 20, _ => 3 };
            await queue.EnqueueAsync(messageId, new TransferCommand("alice", from, to, amount).ToBytes(), CancellationToken.None);
        }

        await DrainedAsync(connectionString);

        Assert.Equal((10_000 - 123, 123), await BalancesAsync(app, from, to));
        await using var connection = new NpgsqlConnection(connectionString);
        Assert.Equal(3, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM bank_transfers"));
        Assert.Equal(3, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM idempotency_records WHERE state = 2"));
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM bank_transfer_dead_letters"));
    }

    [Fact]
    public async Task CommandTakenByAWorkerThatDied_IsRedeliveredAfterItsVisibilityTimeout_AndAppliedOnce()
    {
        var connectionString = await fixture.NewDatabaseAsync();

        // The first instance takes the command and "dies" before applying it (its worker is off: the take is all it does).
        long from, to;
        await using (var crashed = SampleApp.Postgres(connectionString))
        {
            (from, to) = await OpenAccountsAsync(crashed, 500);
            var queue = crashed.Services.GetRequiredService<TransferQueue>();
            await queue.EnqueueAsync("m-crash", new TransferCommand("alice", from, to, 75).ToBytes(), CancellationToken.None);
            var taken = Assert.Single(await queue.TakeAsync(10, TimeSpan.FromSeconds(1), CancellationToken.None));
            Assert.Equal(1, taken.Attempts);
            Assert.Empty(await queue.TakeAsync(10, TimeSpan.FromSeconds(1), CancellationToken.None)); // hidden while taken
        }

        await using var app = Worker(connectionString);
        _ = app.Services; // starts the host, and with it the worker
        await DrainedAsync(connectionString);

        Assert.Equal((500 - 75, 75), await BalancesAsync(app, from, to));
        await using var connection = new NpgsqlConnection(connectionString);
        Assert.Equal(1, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM bank_transfers"));
    }

    [Fact]
    public async Task MessageIdReusedWithAnotherPayload_IsDeadLettered_AndTheFirstPayloadStaysApplied()
    {
        var connectionString = await fixture.NewDatabaseAsync();
        await using var app = Worker(connectionString);
        var (from, to) = await OpenAccountsAsync(app, 1_000);
        var queue = app.Services.GetRequiredService<TransferQueue>();

        await queue.EnqueueAsync("m-reused", new TransferCommand("alice", from, to, 10).ToBytes(), CancellationToken.None);
        await DrainedAsync(connectionString);
        var second = await queue.EnqueueAsync("m-reused", new TransferCommand("alice", from, to, 999).ToBytes(), CancellationToken.None);
        await DrainedAsync(connectionString);

        Assert.Equal((990, 10), await BalancesAsync(app, from, to));
        await using var connection = new NpgsqlConnection(connectionString);
        Assert.Equal(second, await connection.ExecuteScalarAsync<long>("SELECT id FROM bank_transfer_dead_letters WHERE message_id = 'm-reused'"));
    }

    [Theory]
    [InlineData(-500)]
    [InlineData(0)]
    [InlineData(LedgerEndpoints.MaxAmount + 1)]
    public async Task CommandWithAnAmountTheApiWouldRefuse_IsDeadLettered_AndMovesNothing(long amount)
    {
        // The HTTP and gRPC APIs refuse these amounts with 400 / INVALID_ARGUMENT; a queued command is input too. A
        // negative amount would run the transfer backwards: out of bob's account into alice's.
        var connectionString = await fixture.NewDatabaseAsync();
        await using var app = Worker(connectionString);
        var (from, to) = await OpenAccountsAsync(app, 1_000);
        using (var scope = app.Services.CreateScope())
        {
            await scope.ServiceProvider.GetRequiredService<ILedger>().PostAsync("bob", to, 1_000, CancellationToken.None);
        }

        var queue = app.Services.GetRequiredService<TransferQueue>();
        var row = await queue.EnqueueAsync("m-amount", new TransferCommand("alice", from, to, amount).ToBytes(), CancellationToken.None);
        await DrainedAsync(connectionString);

        Assert.Equal((1_000, 1_000), await BalancesAsync(app, from, to));
        await using var connection = new NpgsqlConnection(connectionString);
        var deadLetter = await connection.QuerySingleOrDefaultAsync<(long Id, int Attempts, string Reason)>(
            "SELECT id, attempts, reason FROM bank_transfer_dead_letters WHERE message_id = 'm-amount'");
        Assert.Equal(row, deadLetter.Id);
        Assert.Equal(1, deadLetter.Attempts); // refused on its first delivery, not after MaxAttempts failures
        Assert.Contains("amount", deadLetter.Reason, StringComparison.Ordinal);
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM bank_transfers"));
    }

    [Fact]
    public async Task Worker_IsOffByDefault()
    {
        await using var app = SampleApp.Postgres(await fixture.NewDatabaseAsync());

        Assert.DoesNotContain(app.Services.GetServices<IHostedService>(), s => s is TransferQueueWorker);
    }

    [Fact]
    public void EnabledWorker_OutsidePostgresMode_StopsTheServiceAtStartUp()
    {
        using var app = SampleApp.Create(new() { ["TransferQueue:Enabled"] = "true" });

        var error = Assert.Throws<InvalidOperationException>(() => app.Services);

        Assert.Contains("Idempotency:Store=postgres", error.Message, StringComparison.Ordinal);
    }

    private static WebApplicationFactory<Program> Worker(string connectionString) =>
        SampleApp.Create(new()
        {
            ["Idempotency:Store"] = "postgres",
            ["ConnectionStrings:Postgres"] = connectionString,
            ["TransferQueue:Enabled"] = "true",
            ["TransferQueue:IdleDelay"] = "00:00:00.020",
            ["TransferQueue:VisibilityTimeout"] = "00:00:01",
        });

    private static async Task<(long From, long To)> OpenAccountsAsync(WebApplicationFactory<Program> app, long opening)
    {
        using var scope = app.Services.CreateScope();
        var ledger = scope.ServiceProvider.GetRequiredService<ILedger>();
        var from = await ledger.OpenAccountAsync("alice", "alice", CancellationToken.None);
        var to = await ledger.OpenAccountAsync("bob", "bob", CancellationToken.None);
        await ledger.PostAsync("alice", from.Id, opening, CancellationToken.None);
        return (from.Id, to.Id);
    }

    private static async Task<(long From, long To)> BalancesAsync(WebApplicationFactory<Program> app, long from, long to)
    {
        using var scope = app.Services.CreateScope();
        var ledger = scope.ServiceProvider.GetRequiredService<ILedger>();
        return ((await ledger.GetAccountAsync("alice", from, CancellationToken.None))!.Balance, (await ledger.GetAccountAsync("bob", to, CancellationToken.None))!.Balance);
    }

    private static async Task DrainedAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        using var guard = new CancellationTokenSource(s_hangGuard);
        while (await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM bank_transfer_queue") > 0)
        {
            await Task.Delay(20, guard.Token);
        }
    }
}
