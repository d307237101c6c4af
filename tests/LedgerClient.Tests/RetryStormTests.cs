namespace LedgerClient.Tests;

/// <summary>
/// The demo's logic against the sample service started in-process on 127.0.0.1, with a few hundred operations, one
/// at a time so that the seeded faults and amounts make every run the same.
/// </summary>
public sealed class RetryStormTests
{
    private static RetryStormOptions Options(bool useKeys) => new()
    {
        Operations = 300,
        DropRequests = 0.15,
        DropResponses = 0.15,
        Parallelism = 1,
        Seed = 7,
        UseKeys = useKeys,
    };

    [Fact]
    public async Task WithKeys_LostRequestsAndResponses_LeaveTheBooksMatching()
    {
        await using var ledger = await SelfHostedLedger.StartAsync();

        var report = await RetryStorm.RunAsync(ledger.BaseAddress, Options(useKeys: true));

        Assert.True(report.DroppedResponses > 10, $"the seeded network must lose responses; it lost {report.DroppedResponses}");
        Assert.True(report.DroppedRequests > 10, $"the seeded network must lose requests; it lost {report.DroppedRequests}");
        Assert.Equal(0, report.Failed);
        Assert.Equal(300, report.Succeeded + report.Rejected);
        Assert.Equal(report.ExpectedBalance, report.ActualBalance);
        Assert.Equal(report.Succeeded, report.ServerEntries);
        Assert.True(report.BalancesMatch);
        Assert.True(report.Replayed > 0);
        Assert.True(report.Retried >= report.DroppedRequests + report.DroppedResponses);
    }

    [Fact]
    public async Task WithoutKeysKeptAcrossRetries_TheSameRun_AppliesLostResponsesTwice()
    {
        await using var ledger = await SelfHostedLedger.StartAsync();

        var report = await RetryStorm.RunAsync(ledger.BaseAddress, Options(useKeys: false));

        Assert.True(report.DroppedResponses > 10);
        Assert.Equal(0, report.Failed);
        Assert.Equal(0, report.Replayed);
        Assert.NotEqual(report.ExpectedBalance, report.ActualBalance);
        Assert.True(report.ServerEntries > report.Succeeded, $"{report.ServerEntries} entries for {report.Succeeded} successes");
        Assert.False(report.BalancesMatch);
    }

    [Fact]
    public async Task TheSelfHostedLedger_ListensOnLoopbackOnly()
    {
        await using var ledger = await SelfHostedLedger.StartAsync();

        Assert.Equal("127.0.0.1", ledger.BaseAddress.Host);
        Assert.NotEqual(0, ledger.BaseAddress.Port);
    }

    [Theory]
    [InlineData(0, 0.1, 0.1, 1, "--operations")]
    [InlineData(10, -0.1, 0.1, 1, "--drop-requests")]
    [InlineData(10, 0.5, 0.5, 1, "--drop-requests")]
    [InlineData(10, 0.1, 0.1, 0, "--parallel")]
    public void OutOfRangeOptions_AreRefused_NamingTheOption(int operations, double dropRequests, double dropResponses, int parallelism, string named)
    {
        var options = new RetryStormOptions { Operations = operations, DropRequests = dropRequests, DropResponses = dropResponses, Parallelism = parallelism };

        var error = Assert.Throws<ArgumentOutOfRangeException>(options.Validate);

        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheReport_SaysWhetherTheBooksMatch()
    {
        var matching = new RetryStormReport
        {
            Operations = 3, Succeeded = 2, ExpectedBalance = 1050, ActualBalance = 1050, ServerEntries = 2, Retried = 4,
            Replayed = 1, Rejected = 1, Failed = 0, DroppedRequests = 2, DroppedResponses = 2, UsedKeys = true,
        };
        var doubled = matching with { ActualBalance = 2100, ServerEntries = 3, UsedKeys = false };

        Assert.Contains("expected balance         : $10.50", matching.Format(), StringComparison.Ordinal);
        Assert.Contains("MATCH", matching.Format(), StringComparison.Ordinal);
        Assert.Contains("MISMATCH: $10.50 and 1 entries", doubled.Format(), StringComparison.Ordinal);
    }
}
