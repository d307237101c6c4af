using Microsoft.Extensions.Logging;
using Npgsql;

namespace Idempotency.PostgreSql;

/// <summary>
/// Keeps idempotency records in a PostgreSQL table. Each operation is one prepared SQL statement, so one round trip:
/// claims are atomic through <c>INSERT ... ON CONFLICT</c> (a replay only reads), and only the owner token of a claim
/// completes or releases it.
/// </summary>
internal sealed partial class PostgreSqlIdempotencyStore : IIdempotencyStore
{
    /// <inheritdoc />
    public string Name => "postgresql";

    private const string ClaimOperation = "claim a key";
    private const string CompleteOperation = "complete a claim";
    private const string ReleaseOperation = "release a claim";

    /// <summary>How long after a completion's first failure it may still be sent again, at least (longer while its lease runs).</summary>
    internal static TimeSpan CompletionResendWindow => ResendSchedule.Window;

    private readonly NpgsqlDataSource _dataSource;
    private readonly PostgreSqlStoreSql _sql;
    private readonly ILogger _logger;

    public PostgreSqlIdempotencyStore(PostgreSqlIdempotencyDatabase database, ILogger<PostgreSqlIdempotencyStore> logger)
    {
        _dataSource = database.DataSource;
        _sql = database.Sql;
        _logger = logger;
    }

    public ValueTask<IdempotencyClaimResult> ClaimAsync(IdempotencyClaimRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return RunAsync(ClaimOperation, request.Key, request, PostgreSqlStoreCommands.ClaimAsync, cancellationToken);
    }

    // A completion that lost the server (a restart, a fail-over, a broken connection) is sent again until the claim's
    // lease ends (1 s after the first failure when the request does not say when): the work has run, and a completion
    // lost is a record lost, which a retry would run again once the lease ends. Safe to send twice: the statement
    // answers "completed" again to a completion that finds the record completed with exactly its payload (which carries
    // its completion time to the millisecond). A first timeout is not sent again (the statement may still be running,
    // and it has already waited Command Timeout); one after such a failure is.
    public async ValueTask<CompletionStatus> CompleteAsync(IdempotencyCompleteRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var resend = new ResendSchedule(request.LeaseExpiresAt);
        while (true)
        {
            try
            {
                var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
                await using var connectionDisposal = connection.ConfigureAwait(false);
                return await PostgreSqlStoreCommands.CompleteAsync(connection, _sql, request, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (
                (PostgreSqlStoreErrors.LostTheServer(ex) || (resend.HasFailed && PostgreSqlStoreErrors.IsTimeout(ex))) && resend.TryCountFailure())
            {
                if (resend.IsFirstResend)
                {
                    LogCompletionSentAgain(StoreFaultDescription.Describe(ex, request.Key));
                }

                await Task.Delay(resend.NextPause, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (PostgreSqlStoreErrors.IsStoreFault(ex))
            {
                throw Fault(ex, CompleteOperation, request.Key);
            }
        }
    }

    public ValueTask<bool> ReleaseAsync(string key, string ownerToken, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(ownerToken);
        return RunAsync(
            ReleaseOperation,
            key,
            (Key: key, OwnerToken: ownerToken),
            static (connection, sql, release, ct) => PostgreSqlStoreCommands.ReleaseAsync(connection, sql, release.Key, release.OwnerToken, ct),
            cancellationToken);
    }

    // One statement on a pooled connection; a database failure becomes an IdempotencyStoreException that says what to check.
    private async ValueTask<TResult> RunAsync<TArgument, TResult>(
        string operation,
        string storageKey,
        TArgument argument,
        Func<NpgsqlConnection, PostgreSqlStoreSql, TArgument, CancellationToken, Task<TResult>> command,
        CancellationToken cancellationToken)
    {
        try
        {
            var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using var connectionDisposal = connection.ConfigureAwait(false);
            return await command(connection, _sql, argument, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (PostgreSqlStoreErrors.IsStoreFault(ex))
        {
            throw Fault(ex, operation, storageKey);
        }
    }

    private IdempotencyStoreException Fault(Exception exception, string operation, string storageKey)
    {
        LogStoreFault(operation, StoreFaultDescription.Describe(exception, storageKey));
        LogStoreFaultDetail(exception, operation);
        return PostgreSqlStoreErrors.Wrap(exception, operation, _sql);
    }
}
