using System.Globalization;
using Idempotency.PostgreSql.Tests.Infrastructure;

namespace Idempotency.PostgreSql.Tests;

/// <summary>
/// The entry point of this assembly when a test starts it as a child process (<c>dotnet Idempotency.PostgreSql.Tests.dll
/// ledger-app ...</c>): the ledger app on Kestrel, so that a test can kill a real process mid-request. The test
/// runner never calls it.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args is ["ledger-app", var connectionString, var suffix, var port])
        {
            await LedgerApp.RunOnKestrelAsync(LedgerDatabase.Attach(connectionString, suffix), int.Parse(port, CultureInfo.InvariantCulture));
            return 0;
        }

        await Console.Error.WriteLineAsync("usage: ledger-app <connection string> <table suffix> <port>");
        return 2;
    }
}
