using System.Diagnostics;
using System.Net;
using Idempotency.EntityFrameworkCore.Tests.Infrastructure;

namespace Idempotency.EntityFrameworkCore.Tests.Http;

[Collection(EfCoreCollection.Name)]
public sealed class ProcessKillTests(EfCoreFixture fixture)
{
    private static readonly TimeSpan s_hangGuard = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task SigkillMidRequest_LeavesNothing_AndTheRetryRunsOnce()
    {
        var db = await fixture.CreateLedgerDatabaseAsync();
        var startInfo = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        startInfo.ArgumentList.Add(typeof(Program).Assembly.Location);
        startInfo.ArgumentList.Add("ledger-app");
        startInfo.ArgumentList.Add(db);
        using var child = Process.Start(startInfo) ?? throw new InvalidOperationException("Could not start the ledger process.");
        try
        {
            var listening = await ReadLineStartingWithAsync(child, LedgerWebApp.ListeningLine);
            using var client = new HttpClient { BaseAddress = new Uri(listening[(LedgerWebApp.ListeningLine.Length + 1)..]) };

            // The handler saves its entry inside the transaction, then hangs: the process dies there.
            var pending = client.SendAsync(LedgerWebApp.Deposit("alice", "kill-1", hold: "forever"));
            await ReadLineStartingWithAsync(child, LedgerWebApp.InHandlerLine);
            child.Kill(entireProcessTree: true);
            await child.WaitForExitAsync().WaitAsync(s_hangGuard);
            await Assert.ThrowsAnyAsync<HttpRequestException>(() => pending);
        }
        finally
        {
            if (!child.HasExited)
            {
                child.Kill(entireProcessTree: true);
            }
        }

        Assert.Equal(0, await EfCoreFixture.CountAsync(db, "SELECT count(*) FROM ledger_entries"));
        Assert.Equal(0, await EfCoreFixture.CountAsync(db, "SELECT count(*) FROM idempotency_records"));

        await using var survivor = await LedgerWebApp.StartAsync(db);
        HttpResponseMessage retry;
        var attempts = 0;
        do
        {
            // Until the server notices the dead connection, its lock makes the retry answer 409.
            retry = await survivor.Client.SendAsync(LedgerWebApp.Deposit("alice", "kill-1")).WaitAsync(s_hangGuard);
            if (retry.StatusCode == HttpStatusCode.Conflict)
            {
                await Task.Delay(50);
            }
        }
        while (retry.StatusCode == HttpStatusCode.Conflict && ++attempts < 200);

        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        using var replay = await survivor.Client.SendAsync(LedgerWebApp.Deposit("alice", "kill-1"));
        Assert.Equal("true", Assert.Single(replay.Headers.GetValues("Idempotent-Replayed")));
        Assert.Equal(1, survivor.HandlerRuns);
        Assert.Equal(1, await EfCoreFixture.CountAsync(db, "SELECT count(*) FROM ledger_entries"));
    }

    private static async Task<string> ReadLineStartingWithAsync(Process process, string prefix)
    {
        while (true)
        {
            var line = await process.StandardOutput.ReadLineAsync().WaitAsync(s_hangGuard)
                ?? throw new InvalidOperationException($"The ledger process ended before printing {prefix}: {await process.StandardError.ReadToEndAsync()}");
            if (line.StartsWith(prefix, StringComparison.Ordinal))
            {
                return line;
            }
        }
    }
}
