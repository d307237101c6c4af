using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Npgsql;

namespace Idempotency.EntityFrameworkCore.Tests.Infrastructure;

/// <summary>
/// Terminates the transaction's server process right before the first <paramref name="failures"/> commits: the COMMIT
/// then meets a dead connection, a real fault, and nothing of the transaction commits.
/// </summary>
public sealed class TerminateOnCommitInterceptor(string connectionString, int failures = 1) : DbTransactionInterceptor
{
    private readonly int _failures = failures;
    private int _left = failures;

    public int Terminated => _failures - Math.Max(0, Volatile.Read(ref _left));

    public override async ValueTask<InterceptionResult> TransactionCommittingAsync(
        DbTransaction transaction, TransactionEventData eventData, InterceptionResult result, CancellationToken cancellationToken = default)
    {
        if (Interlocked.Decrement(ref _left) >= 0)
        {
            await EfCoreFixture.TerminateBackendAsync(connectionString, ((NpgsqlConnection)transaction.Connection!).ProcessID);
        }

        return result;
    }
}
