using BankLedger.Grpc;
using BankLedger.Ledger;
using BankLedger.Tests.Infrastructure;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace BankLedger.Tests.Grpc;

/// <summary>
/// The gRPC API in postgres mode and in efcore mode (the same tables, the ledger on EF Core): two instances of the sample over one database share the books and the keys, and each
/// keyed call runs in the transactional mode, its ledger write committing with its idempotency record or not at all.
/// </summary>
[Collection(PostgreSqlSampleCollection.Name)]
public sealed class LedgerGrpcPostgreSqlTests(PostgreSqlSampleFixture fixture)
{
    [Theory]
    [InlineData("postgres")]
    [InlineData("efcore")]
    public async Task ConcurrentDuplicateDepositsOverTwoInstances_ExecuteOnce_AndEveryCallGetsTheSameReply(string mode)
    {
        var database = await fixture.NewDatabaseAsync();
        var settings = Postgres(database, mode);
        await using var first = GrpcSampleHost.Start(settings: settings);
        await using var second = GrpcSampleHost.Start(settings: settings);
        var account = await first.OpenAccountAsync();
        var clients = new[] { first.RetryingClient(out var firstChannel), second.RetryingClient(out var secondChannel) };
        using var _ = firstChannel;
        using var __ = secondChannel;
        var key = GrpcSampleHost.NewKey();

        var replies = await Task.WhenAll(Enumerable.Range(0, 32).Select(i =>
            clients[i % 2].DepositAsync(new DepositRequest { AccountId = account, Amount = 1_250 }, GrpcSampleHost.Call(key)).ResponseAsync));

        Assert.All(replies, reply => Assert.Equal(replies[0], reply));
        Assert.Equal(new PostingReply { AccountId = account, Entry = 1, Amount = 1_250, Balance = 1_250 }, replies[0]);
        Assert.Equal((1_250, 1), await first.AccountAsync(account));
        Assert.Equal((1_250, 1), await second.AccountAsync(account));
    }

    [Theory]
    [InlineData("postgres")]
    [InlineData("efcore")]
    public async Task DepositWhoseHandlerThrowsAfterItsLedgerWrite_CommitsNothing_AndItsRetryRunsOnce(string mode)
    {
        var failure = new FailAfterWrite();
        await using var host = GrpcSampleHost.Start(services => failure.Decorate(services, mode), Postgres(await fixture.NewDatabaseAsync(), mode));
        var account = await host.OpenAccountAsync();
        var key = GrpcSampleHost.NewKey();
        failure.Armed = true;

        var failed = await Assert.ThrowsAsync<RpcException>(() =>
            host.Client.DepositAsync(new DepositRequest { AccountId = account, Amount = 1_250 }, GrpcSampleHost.Call(key)).ResponseAsync);
        var afterFailure = await host.AccountAsync(account);
        var retried = await host.Client.DepositAsync(new DepositRequest { AccountId = account, Amount = 1_250 }, GrpcSampleHost.Call(key));

        Assert.Equal(StatusCode.Unknown, failed.StatusCode);
        Assert.Equal(1, failure.Failures);
        Assert.Equal((0, 0), afterFailure);
        Assert.Equal(new PostingReply { AccountId = account, Entry = 1, Amount = 1_250, Balance = 1_250 }, retried);
        Assert.Equal((1_250, 1), await host.AccountAsync(account));
    }

    [Theory]
    [InlineData("postgres")]
    [InlineData("efcore")]
    public async Task DepositWhoseRecordFailsToCommit_AnswersUnavailable_CommitsNothing_AndItsRetryRunsOnce(string mode)
    {
        var database = await fixture.NewDatabaseAsync();
        await using var host = GrpcSampleHost.Start(settings: Postgres(database, mode));
        var account = await host.OpenAccountAsync();
        var key = GrpcSampleHost.NewKey();

        // From now on every completed idempotency record fails at COMMIT (a deferred constraint trigger): the record's
        // commit fails after the handler's ledger write. Without the transactional mode that write stayed applied, the
        // client got the reply, and a retry after the lease applied it again.
        await ExecuteAsync(database, """
            CREATE FUNCTION refuse_completed_record() RETURNS trigger LANGUAGE plpgsql AS
                $$ BEGIN RAISE EXCEPTION 'completed records are refused (test)'; END $$;
            CREATE CONSTRAINT TRIGGER refuse_completed_record AFTER INSERT OR UPDATE ON idempotency_records
                DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.state = 2) EXECUTE FUNCTION refuse_completed_record();
            """);
        var failed = await Assert.ThrowsAsync<RpcException>(() =>
            host.Client.DepositAsync(new DepositRequest { AccountId = account, Amount = 1_250 }, GrpcSampleHost.Call(key)).ResponseAsync);
        var afterFailure = await host.AccountAsync(account);
        await ExecuteAsync(database, "DROP TRIGGER refuse_completed_record ON idempotency_records");
        var retried = await host.Client.DepositAsync(new DepositRequest { AccountId = account, Amount = 1_250 }, GrpcSampleHost.Call(key));

        Assert.Equal(StatusCode.Unavailable, failed.StatusCode);
        Assert.Equal((0, 0), afterFailure);
        Assert.Equal(new PostingReply { AccountId = account, Entry = 1, Amount = 1_250, Balance = 1_250 }, retried);
        Assert.Equal((1_250, 1), await host.AccountAsync(account));
    }

    private static Dictionary<string, string?> Postgres(string database, string mode) =>
        new() { ["Idempotency:Store"] = mode, ["ConnectionStrings:Postgres"] = database };

    private static async Task ExecuteAsync(string database, string sql)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>The sample's PostgreSQL ledger, whose next posting throws once its write is done, while <see cref="Armed"/>.</summary>
    private sealed class FailAfterWrite
    {
        private int _failures;

        public volatile bool Armed;

        public int Failures => _failures;

        // Wraps the mode's own ledger: its write is the one that must roll back with the key.
        public void Decorate(IServiceCollection services, string mode) =>
            services.AddScoped<ILedger>(provider => new Ledger(
                mode == "efcore" ? ActivatorUtilities.CreateInstance<BankLedger.Ledger.EfCore.EfCoreLedger>(provider) : ActivatorUtilities.CreateInstance<PostgreSqlLedger>(provider),
                this));

        private sealed class Ledger(ILedger inner, FailAfterWrite failure) : ILedger
        {
            public async Task<LedgerResult<PostingView>> PostAsync(string userId, long accountId, long amount, CancellationToken cancellationToken)
            {
                var result = await inner.PostAsync(userId, accountId, amount, cancellationToken);
                if (failure.Armed)
                {
                    failure.Armed = false;
                    Interlocked.Increment(ref failure._failures);
                    throw new InvalidOperationException("The handler failed after its ledger write (test).");
                }

                return result;
            }

            public Task<AccountView> OpenAccountAsync(string userId, string owner, CancellationToken cancellationToken) => inner.OpenAccountAsync(userId, owner, cancellationToken);

            public Task<AccountView?> GetAccountAsync(string userId, long accountId, CancellationToken cancellationToken) => inner.GetAccountAsync(userId, accountId, cancellationToken);

            public Task<IReadOnlyList<EntryView>?> GetEntriesAsync(string userId, long accountId, CancellationToken cancellationToken) => inner.GetEntriesAsync(userId, accountId, cancellationToken);

            public Task<EntryAppendResult> AppendIfAsync(string userId, long accountId, Func<long, bool> lastEntryMatches, long amount, string? memo, CancellationToken cancellationToken) =>
                inner.AppendIfAsync(userId, accountId, lastEntryMatches, amount, memo, cancellationToken);

            public Task<LedgerResult<TransferView>> TransferAsync(string userId, long from, long to, long amount, CancellationToken cancellationToken) =>
                inner.TransferAsync(userId, from, to, amount, cancellationToken);
        }
    }
}
