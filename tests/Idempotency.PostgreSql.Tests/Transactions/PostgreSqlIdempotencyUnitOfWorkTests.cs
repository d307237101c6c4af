using System.Data;
using System.Text;
using Dapper;
using Idempotency.PostgreSql.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Idempotency.PostgreSql.Tests.Transactions;

/// <summary>
/// The transactional mode without HTTP, driven the way a message handler drives it: begin a unit of work, claim the
/// message's key through the store contract, apply the effect on the unit of work's connection and transaction, complete.
/// The services come from <c>AddIdempotentExecutor().AddPostgreSqlStore(...)</c>: no ASP.NET Core.
/// </summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlIdempotencyUnitOfWorkTests(PostgreSqlFixture fixture)
{
    private static readonly TimeSpan s_lease = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan s_retention = TimeSpan.FromHours(1);
    private static readonly byte[] s_fingerprint = new byte[32];

    public enum Abandon
    {
        Release,
        DisposeWithoutCompletion,
        ExceptionInTheWork,
    }

    [Theory]
    [InlineData(IsolationLevel.ReadCommitted)]
    [InlineData(IsolationLevel.RepeatableRead)]
    [InlineData(IsolationLevel.Serializable)]
    public async Task TwoUnitsOfWorkOnOneKey_OneRuns_AndTheOtherSeesItInFlight_ThenItsCommittedOutcome(IsolationLevel isolationLevel)
    {
        var (database, provider) = await CreateAsync();
        await using var _ = provider;
        var factory = provider.GetRequiredService<PostgreSqlIdempotencyUnitOfWorkFactory>();
        var key = StorageKey("m1");

        await using var first = await factory.BeginAsync(isolationLevel);
        await using var second = await factory.BeginAsync(isolationLevel);
        var firstOwner = NewOwner();
        var firstClaim = await first.ClaimAsync(Claim(key, firstOwner), CancellationToken.None);
        var secondClaim = await second.ClaimAsync(Claim(key, NewOwner()), CancellationToken.None);
        await InsertLedgerEntryAsync(first, database);
        var completion = await first.CompleteAsync(Complete(key, firstOwner, "applied"), CancellationToken.None);
        await using var redelivery = await factory.BeginAsync(isolationLevel);
        var redeliveryClaim = await redelivery.ClaimAsync(Claim(key, NewOwner()), CancellationToken.None);

        Assert.Equal(ClaimStatus.Claimed, firstClaim.Status);
        Assert.Equal(ClaimStatus.InFlight, secondClaim.Status);
        Assert.False(second.IsClaimed);
        Assert.Equal(CompletionStatus.Completed, completion);
        Assert.Equal(ClaimStatus.Completed, redeliveryClaim.Status);
        Assert.Equal("applied", Encoding.UTF8.GetString(redeliveryClaim.Payload.Span));
        Assert.Equal(1, await database.LedgerCountAsync());
    }

    [Theory]
    [InlineData(IsolationLevel.ReadCommitted)]
    [InlineData(IsolationLevel.Serializable)]
    public async Task WorkAndRecord_CommitTogether_AtCompletion_AndNeitherIsVisibleBefore(IsolationLevel isolationLevel)
    {
        var (database, provider) = await CreateAsync();
        await using var _ = provider;
        var factory = provider.GetRequiredService<PostgreSqlIdempotencyUnitOfWorkFactory>();
        var key = StorageKey("m1");
        var owner = NewOwner();

        await using var unitOfWork = await factory.BeginAsync(isolationLevel);
        await unitOfWork.ClaimAsync(Claim(key, owner), CancellationToken.None);
        await InsertLedgerEntryAsync(unitOfWork, database);
        var ledgerBefore = await database.LedgerCountAsync();
        var recordBefore = await database.RecordStateAsync("m1");
        var completion = await unitOfWork.CompleteAsync(Complete(key, owner, "applied"), CancellationToken.None);

        Assert.Equal(0, ledgerBefore);
        Assert.Null(recordBefore);
        Assert.Equal(CompletionStatus.Completed, completion);
        Assert.Equal(1, await database.LedgerCountAsync());
        Assert.Equal(PostgreSqlStoreSql.CompletedState, await database.RecordStateAsync("m1"));
    }

    [Theory]
    [InlineData(Abandon.Release, IsolationLevel.ReadCommitted)]
    [InlineData(Abandon.DisposeWithoutCompletion, IsolationLevel.ReadCommitted)]
    [InlineData(Abandon.ExceptionInTheWork, IsolationLevel.ReadCommitted)]
    [InlineData(Abandon.Release, IsolationLevel.RepeatableRead)]
    [InlineData(Abandon.DisposeWithoutCompletion, IsolationLevel.RepeatableRead)]
    [InlineData(Abandon.ExceptionInTheWork, IsolationLevel.RepeatableRead)]
    public async Task AbandonedUnitOfWork_LeavesNeitherTheWorkNorTheRecord_AndTheRedeliveryRuns(Abandon abandon, IsolationLevel isolationLevel)
    {
        var (database, provider) = await CreateAsync();
        await using var _ = provider;
        var factory = provider.GetRequiredService<PostgreSqlIdempotencyUnitOfWorkFactory>();
        var key = StorageKey("m1");

        var released = false;
        try
        {
            await using var unitOfWork = await factory.BeginAsync(isolationLevel);
            var owner = NewOwner();
            await unitOfWork.ClaimAsync(Claim(key, owner), CancellationToken.None);
            await InsertLedgerEntryAsync(unitOfWork, database);
            switch (abandon)
            {
                case Abandon.Release:
                    released = await unitOfWork.ReleaseAsync(key, owner, CancellationToken.None);
                    break;
                case Abandon.ExceptionInTheWork:
                    throw new InvalidOperationException("the handler failed after its insert");
            }
        }
        catch (InvalidOperationException) when (abandon == Abandon.ExceptionInTheWork)
        {
        }

        await using var redelivery = await factory.BeginAsync(isolationLevel);
        var redeliveryClaim = await redelivery.ClaimAsync(Claim(key, NewOwner()), CancellationToken.None);

        Assert.Equal(abandon == Abandon.Release, released);
        Assert.Equal(0, await database.LedgerCountAsync());
        Assert.Null(await database.RecordStateAsync("m1"));
        Assert.Equal(ClaimStatus.Claimed, redeliveryClaim.Status);
    }

    [Theory]
    [InlineData(IsolationLevel.ReadCommitted)]
    [InlineData(IsolationLevel.RepeatableRead)]
    public async Task UnitOfWorkWhoseConnectionIsKilled_CommitsNothing_AndTheRedeliveryRuns(IsolationLevel isolationLevel)
    {
        var (database, provider) = await CreateAsync();
        await using var _ = provider;
        var factory = provider.GetRequiredService<PostgreSqlIdempotencyUnitOfWorkFactory>();
        var key = StorageKey("m1");
        var owner = NewOwner();

        Exception? completionFault;
        await using (var unitOfWork = await factory.BeginAsync(isolationLevel))
        {
            await unitOfWork.ClaimAsync(Claim(key, owner), CancellationToken.None);
            await InsertLedgerEntryAsync(unitOfWork, database);
            await using (var admin = new NpgsqlConnection(database.ConnectionString))
            {
                await admin.OpenAsync();
                // With a timeout, pg_terminate_backend waits until the backend has exited: its transaction rolled back and
                // its row lock released. Without, a redelivery that came first found the row still locked (in flight).
                Assert.True(await admin.QuerySingleAsync<bool>("SELECT pg_terminate_backend(@pid, 10000)", new { pid = unitOfWork.Connection.ProcessID }));
            }

            completionFault = await Record.ExceptionAsync(() => unitOfWork.CompleteAsync(Complete(key, owner, "applied"), CancellationToken.None).AsTask());
        }

        await using var redelivery = await factory.BeginAsync(isolationLevel);
        var redeliveryClaim = await redelivery.ClaimAsync(Claim(key, NewOwner()), CancellationToken.None);

        Assert.IsType<IdempotencyStoreException>(completionFault);
        Assert.Equal(0, await database.LedgerCountAsync());
        Assert.Null(await database.RecordStateAsync("m1"));
        Assert.Equal(ClaimStatus.Claimed, redeliveryClaim.Status);
    }

    [Fact]
    public async Task ConnectionAndTransaction_AreAvailableOnlyWhileTheUnitOfWorkHoldsItsClaim()
    {
        var (_, provider) = await CreateAsync();
        await using var __ = provider;
        var factory = provider.GetRequiredService<PostgreSqlIdempotencyUnitOfWorkFactory>();
        var key = StorageKey("m1");

        var unitOfWork = await factory.BeginAsync();
        var beforeTheClaim = Record.Exception(() => unitOfWork.Connection);
        await unitOfWork.ClaimAsync(Claim(key, NewOwner()), CancellationToken.None);
        var whileClaimed = (unitOfWork.IsClaimed, unitOfWork.Connection.State, ReferenceEquals(unitOfWork.Transaction.Connection, unitOfWork.Connection));
        await unitOfWork.DisposeAsync();

        Assert.IsType<InvalidOperationException>(beforeTheClaim);
        Assert.Equal((true, ConnectionState.Open, true), whileClaimed);
        Assert.False(unitOfWork.IsClaimed);
        Assert.Throws<InvalidOperationException>(() => unitOfWork.Transaction);
    }

    [Fact]
    public async Task ScopedTransaction_ShowsTheAttachedUnitOfWork_FromItsClaimUntilItsDisposal()
    {
        var (database, provider) = await CreateAsync();
        await using var _ = provider;
        await using var scope = provider.CreateAsyncScope();
        var factory = scope.ServiceProvider.GetRequiredService<PostgreSqlIdempotencyUnitOfWorkFactory>();
        var tx = scope.ServiceProvider.GetRequiredService<PostgreSqlIdempotentTransaction>();
        var key = StorageKey("m1");
        var owner = NewOwner();

        var unitOfWork = await factory.BeginAsync();
        tx.Attach(unitOfWork);
        var activeBeforeTheClaim = tx.IsActive;
        await unitOfWork.ClaimAsync(Claim(key, owner), CancellationToken.None);
        var sameTransaction = ReferenceEquals(unitOfWork.Transaction, tx.Transaction);
        await tx.Connection.ExecuteAsync($"INSERT INTO {database.LedgerTable} (account, amount) VALUES ('alice', 1)", transaction: tx.Transaction);
        await unitOfWork.CompleteAsync(Complete(key, owner, "applied"), CancellationToken.None);
        await unitOfWork.DisposeAsync();

        Assert.False(activeBeforeTheClaim);
        Assert.True(sameTransaction);
        Assert.False(tx.IsActive);
        Assert.Throws<InvalidOperationException>(() => tx.Transaction);
        Assert.Equal(1, await database.LedgerCountAsync());
    }

    [Fact]
    public async Task Attach_Throws_WhileAnotherUnitOfWorkOfTheScopeIsNotDisposed()
    {
        var (_, provider) = await CreateAsync();
        await using var __ = provider;
        var factory = provider.GetRequiredService<PostgreSqlIdempotencyUnitOfWorkFactory>();
        var tx = new PostgreSqlIdempotentTransaction();
        await using var first = await factory.BeginAsync();
        await using var second = await factory.BeginAsync();

        tx.Attach(first);

        Assert.Throws<InvalidOperationException>(() => tx.Attach(second));
        await first.DisposeAsync();
        tx.Attach(second);
    }

    private static string NewOwner() => Guid.NewGuid().ToString("N");

    private static string StorageKey(string clientKey) => IdempotencyStorageKey.Create(string.Empty, clientKey);

    private static IdempotencyClaimRequest Claim(string key, string owner) => new(key, s_fingerprint, owner, s_lease);

    private static IdempotencyCompleteRequest Complete(string key, string owner, string outcome) =>
        new(key, owner, Encoding.UTF8.GetBytes(outcome), s_retention);

    private static Task<int> InsertLedgerEntryAsync(PostgreSqlIdempotencyUnitOfWork unitOfWork, LedgerDatabase database) =>
        unitOfWork.Connection.ExecuteAsync(
            $"INSERT INTO {database.LedgerTable} (account, amount) VALUES ('alice', 1)", transaction: unitOfWork.Transaction);

    private async Task<(LedgerDatabase Database, ServiceProvider Provider)> CreateAsync()
    {
        var database = await LedgerDatabase.CreateAsync(fixture.ConnectionString);
        var services = new ServiceCollection().AddLogging();
        services.AddIdempotentExecutor().AddPostgreSqlStore(database.ConnectionString, o =>
        {
            o.TableName = database.RecordsTable;
            o.CreateSchemaOnStartup = false;
        });
        return (database, services.BuildServiceProvider());
    }
}
