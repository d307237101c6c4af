using System.Data;
using System.Net;
using System.Text;
using System.Text.Json;
using Dapper;
using Idempotency.PostgreSql.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Idempotency.PostgreSql.Tests.Transactions;

/// <summary>
/// A handler that commits or rolls back the unit of work's transaction itself (against the docs) and then writes
/// outside it: whatever it committed must never be applied a second time by a retry, and no caller may be told that
/// nothing was committed when something was.
/// </summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class TransactionalModeEndedByHandlerTests(PostgreSqlFixture fixture)
{
    /// <summary>
    /// The handler ends the transaction and returns 201: what it committed (its insert after a commit, the deposit to bob
    /// either way) and the record must end up together, so that the retry replays the 201 instead of running again.
    /// </summary>
    [Theory]
    [InlineData("commit", 2, IsolationLevel.ReadCommitted)]
    [InlineData("rollback", 1, IsolationLevel.ReadCommitted)]
    [InlineData("commit", 2, IsolationLevel.RepeatableRead)]
    public async Task AHandlerThatEndsTheTransactionItselfAndReturns_IsReplayedToTheRetry(string end, int committedEntries, IsolationLevel isolationLevel)
    {
        var database = await LedgerDatabase.CreateAsync(fixture.ConnectionString);
        await using var app = await LedgerApp.StartTestServerAsync(database, isolationLevel: isolationLevel);

        using var first = await app.Client!.SendAsync(LedgerApp.Deposit("alice", "k1", end: end));
        using var retry = await app.Client.SendAsync(LedgerApp.Deposit("alice", "k1"));

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(1, app.HandlerRuns);
        Assert.Equal(committedEntries, await database.LedgerCountAsync());
        Assert.Equal(PostgreSqlStoreSql.CompletedState, await database.RecordStateAsync("k1"));
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal("true", Assert.Single(retry.Headers.GetValues("Idempotent-Replayed")));
        Assert.Equal(await first.Content.ReadAsStringAsync(), await retry.Content.ReadAsStringAsync());
    }

    /// <summary>
    /// The handler commits the transaction, writes outside it and then fails (throws, or answers a 503 that is not
    /// stored): a rollback cannot undo what committed, so the key must not be released for the retry to run it again.
    /// </summary>
    [Theory]
    [InlineData("throw", IsolationLevel.ReadCommitted)]
    [InlineData("503", IsolationLevel.ReadCommitted)]
    [InlineData("503", IsolationLevel.Serializable)]
    public async Task AHandlerThatCommitsItselfAndThenFails_IsNotRunAgainByTheRetry(string fail, IsolationLevel isolationLevel)
    {
        var database = await LedgerDatabase.CreateAsync(fixture.ConnectionString);
        await using var app = await LedgerApp.StartTestServerAsync(database, isolationLevel: isolationLevel);

        if (fail == "throw")
        {
            // TestServer hands the handler's unhandled exception to the client; Kestrel would answer 500.
            await Assert.ThrowsAsync<InvalidOperationException>(() => app.Client!.SendAsync(LedgerApp.Deposit("alice", "k1", fail: fail, end: "commit")));
        }
        else
        {
            using var first = await app.Client!.SendAsync(LedgerApp.Deposit("alice", "k1", fail: fail, end: "commit"));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, first.StatusCode);
        }

        using var retry = await app.Client!.SendAsync(LedgerApp.Deposit("alice", "k1"));

        Assert.Equal(1, app.HandlerRuns);
        Assert.Equal(2, await database.LedgerCountAsync());
        Assert.Equal(HttpStatusCode.InternalServerError, retry.StatusCode);
        Assert.Equal("application/problem+json", retry.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await retry.Content.ReadAsStringAsync());
        Assert.EndsWith("outcome-unknown", problem.RootElement.GetProperty("type").GetString(), StringComparison.Ordinal);
    }

    /// <summary>
    /// The same through the executor, with the unit of work as the operation's <see cref="IdempotentOperation.UnitOfWork"/>:
    /// a message handler that commits the unit's transaction and throws is not applied again by the redelivery.
    /// </summary>
    [Fact]
    public async Task AMessageHandlerThatCommitsItselfAndThenThrows_IsNotAppliedAgainByTheRedelivery()
    {
        var database = await LedgerDatabase.CreateAsync(fixture.ConnectionString);
        await using var services = new ServiceCollection()
            .AddLogging()
            .AddIdempotentExecutor()
            .AddPostgreSqlStore(database.ConnectionString, o =>
            {
                o.TableName = database.RecordsTable;
                o.EnableCleanup = false;
            })
            .Services
            .BuildServiceProvider();
        var runs = 0;

        async Task DeliverAsync()
        {
            await using var unitOfWork = await services.GetRequiredService<PostgreSqlIdempotencyUnitOfWorkFactory>().BeginAsync();
            var message = new IdempotentOperation("msg-1", Encoding.UTF8.GetBytes("{}")) { Name = "deposit", UnitOfWork = unitOfWork };
            await services.GetRequiredService<IdempotentExecutor>().ExecuteAsync(message, async ct =>
            {
                Interlocked.Increment(ref runs);
                await unitOfWork.Connection.ExecuteAsync($"INSERT INTO {database.LedgerTable} (account, amount) VALUES ('alice', 100)", transaction: unitOfWork.Transaction);
                await unitOfWork.Transaction.CommitAsync(ct);
                throw new InvalidOperationException("The handler failed after committing its entry.");
            });
        }

        await Assert.ThrowsAsync<InvalidOperationException>(DeliverAsync);
        await Assert.ThrowsAsync<IdempotentOperationOutcomeUnknownException>(DeliverAsync);

        Assert.Equal(1, runs);
        Assert.Equal(1, await database.LedgerCountAsync());
    }
}
