using Idempotency.EntityFrameworkCore.Tests.Infrastructure;

namespace Idempotency.EntityFrameworkCore.Tests;

/// <summary>
/// The entry point of this assembly when a test starts it as a child process (<c>dotnet Idempotency.EntityFrameworkCore.Tests.dll
/// ledger-app &lt;connection string&gt;</c>): the EF Core ledger app on Kestrel, so that a test can SIGKILL a real process
/// mid-request. The test runner never calls it.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args is ["ledger-app", var connectionString])
        {
            await LedgerWebApp.RunUntilKilledAsync(connectionString);
            return 0;
        }

        await Console.Error.WriteLineAsync("usage: ledger-app <connection string>");
        return 2;
    }
}
