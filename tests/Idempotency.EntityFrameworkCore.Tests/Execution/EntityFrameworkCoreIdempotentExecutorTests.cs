using System.Text;
using System.Text.Json.Serialization;
using Idempotency.EntityFrameworkCore.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Idempotency.EntityFrameworkCore.Tests.Execution;

[Collection(EfCoreCollection.Name)]
public sealed class EntityFrameworkCoreIdempotentExecutorTests(EfCoreFixture fixture)
{
    private static ServiceProvider Services(string db, bool retryOnFailure = false) =>
        new ServiceCollection()
            .AddLogging()
            .AddDbContext<LedgerDbContext>(options => EfCoreFixture.Configure(options, db, retryOnFailure))
            .AddIdempotentExecutor()
            .UseEntityFrameworkCore<LedgerDbContext>()
            .Services
            .BuildServiceProvider();

    private static IdempotentOperation Message(string id, string body = "{\"account\":\"alice\",\"amount\":100}") =>
        new(id, Encoding.UTF8.GetBytes(body)) { Name = "deposit" };

    // The message handler: one ledger entry per deposit message, its id as the result.
    private static async ValueTask<long> ApplyDepositAsync(LedgerDbContext context, CancellationToken cancellationToken)
    {
        var entry = new LedgerEntry { Account = "alice", Amount = 100 };
        context.Entries.Add(entry);
        await context.SaveChangesAsync(cancellationToken);
        return entry.Id;
    }

    private static async Task<IdempotentResult<long>> DeliverAsync(ServiceProvider services, IdempotentOperation message, Func<LedgerDbContext, CancellationToken, ValueTask<long>>? handler = null)
    {
        await using var scope = services.CreateAsyncScope();
        var executor = scope.ServiceProvider.GetRequiredService<EntityFrameworkCoreIdempotentExecutor<LedgerDbContext>>();
        return await executor.ExecuteAsync(message, handler ?? ApplyDepositAsync, ExecutorJson.Default.Int64);
    }

    [Fact]
    public async Task Redelivery_ReplaysTheResult_AndAppliesTheEffectOnce()
    {
        var db = await fixture.CreateLedgerDatabaseAsync();
        await using var services = Services(db);

        var first = await DeliverAsync(services, Message("msg-1"));
        var second = await DeliverAsync(services, Message("msg-1"));

        Assert.False(first.IsReplay);
        Assert.True(second.IsReplay);
        Assert.Equal(first.Value, second.Value);
        Assert.Equal(1, await EfCoreFixture.CountAsync(db, "SELECT count(*) FROM ledger_entries"));
    }

    [Fact]
    public async Task HandlerThrows_CommitsNothing_AndTheRedeliveryRuns()
    {
        var db = await fixture.CreateLedgerDatabaseAsync();
        await using var services = Services(db);

        await Assert.ThrowsAsync<InvalidOperationException>(() => DeliverAsync(services, Message("msg-1"), async (context, ct) =>
        {
            await ApplyDepositAsync(context, ct);
            throw new InvalidOperationException("The handler failed after its change.");
        }));
        Assert.Equal(0, await EfCoreFixture.CountAsync(db, "SELECT count(*) FROM ledger_entries"));
        Assert.Equal(0, await EfCoreFixture.CountAsync(db, "SELECT count(*) FROM idempotency_records"));

        var redelivery = await DeliverAsync(services, Message("msg-1"));

        Assert.False(redelivery.IsReplay);
        Assert.Equal(1, await EfCoreFixture.CountAsync(db, "SELECT count(*) FROM ledger_entries"));
    }

    [Fact]
    public async Task SixtyFourConcurrentDeliveries_ApplyTheEffectOnce()
    {
        var db = await fixture.CreateLedgerDatabaseAsync();
        await using var services = Services(db);
        var runs = 0;
        using var start = new ManualResetEventSlim();

        var deliveries = Enumerable.Range(0, 64).Select(_ => Task.Run(async () =>
        {
            start.Wait();
            try
            {
                var result = await DeliverAsync(services, Message("msg-1"), (context, ct) =>
                {
                    Interlocked.Increment(ref runs);
                    return ApplyDepositAsync(context, ct);
                });
                return result.IsReplay ? "replayed" : "executed";
            }
            catch (IdempotentOperationInFlightException)
            {
                return "in flight";
            }
        })).ToArray();
        start.Set();
        var outcomes = await Task.WhenAll(deliveries);

        Assert.Equal(1, runs);
        Assert.Single(outcomes, o => o == "executed");
        Assert.All(outcomes, o => Assert.Contains(o, new[] { "executed", "replayed", "in flight" }));
        Assert.Equal(1, await EfCoreFixture.CountAsync(db, "SELECT count(*) FROM ledger_entries"));
    }

    [Fact]
    public async Task RetryingStrategy_RunsTheWholeUnitAgain_WhenTheBackendIsTerminatedMidUnit()
    {
        var db = await fixture.CreateLedgerDatabaseAsync();
        await using var services = Services(db, retryOnFailure: true);
        var attempts = 0;

        var result = await DeliverAsync(services, Message("msg-1"), async (context, ct) =>
        {
            var id = await ApplyDepositAsync(context, ct);
            if (Interlocked.Increment(ref attempts) == 1)
            {
                // A real transient fault between the handler's change and the commit: the server process goes away.
                var connection = (NpgsqlConnection)context.Database.GetDbConnection();
                await EfCoreFixture.TerminateBackendAsync(db, connection.ProcessID);
                await context.Entries.CountAsync(ct);
            }

            return id;
        });

        Assert.Equal(2, attempts);
        Assert.False(result.IsReplay);
        Assert.Equal(1, await EfCoreFixture.CountAsync(db, "SELECT count(*) FROM ledger_entries"));
        Assert.Equal(1, await EfCoreFixture.CountAsync(db, "SELECT count(*) FROM idempotency_records WHERE state = 2"));
        Assert.Equal(result.Value, await EfCoreFixture.CountAsync(db, "SELECT max(id) FROM ledger_entries"));
    }

    [Fact]
    public async Task RetryingStrategy_ClearsTheFailedAttemptsChanges_BeforeRunningAgain()
    {
        var db = await fixture.CreateLedgerDatabaseAsync();
        await using var services = Services(db, retryOnFailure: true);
        var attempts = 0;

        await DeliverAsync(services, Message("msg-1"), async (context, ct) =>
        {
            // Changes left pending (not saved) by the failing attempt must not be saved by the next one.
            context.Entries.Add(new LedgerEntry { Account = "alice", Amount = 100 });
            if (Interlocked.Increment(ref attempts) == 1)
            {
                var connection = (NpgsqlConnection)context.Database.GetDbConnection();
                await EfCoreFixture.TerminateBackendAsync(db, connection.ProcessID);
                await context.Entries.CountAsync(ct);
            }

            return 0L;
        });

        Assert.Equal(2, attempts);
        Assert.Equal(1, await EfCoreFixture.CountAsync(db, "SELECT count(*) FROM ledger_entries"));
    }
}

[JsonSerializable(typeof(long))]
internal sealed partial class ExecutorJson : JsonSerializerContext;
