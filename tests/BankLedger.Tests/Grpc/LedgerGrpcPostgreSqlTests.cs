using BankLedger.Grpc;
using BankLedger.Tests.Infrastructure;

namespace BankLedger.Tests.Grpc;

/// <summary>The gRPC API in postgres mode: two instances of the sample over one database share the books and the keys.</summary>
[Collection(PostgreSqlSampleCollection.Name)]
public sealed class LedgerGrpcPostgreSqlTests(PostgreSqlSampleFixture fixture)
{
    [Fact]
    public async Task ConcurrentDuplicateDepositsOverTwoInstances_ExecuteOnce_AndEveryCallGetsTheSameReply()
    {
        var database = await fixture.NewDatabaseAsync();
        Dictionary<string, string?> settings = new() { ["Idempotency:Store"] = "postgres", ["ConnectionStrings:Postgres"] = database };
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
}
