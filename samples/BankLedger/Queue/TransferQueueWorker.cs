using System.Data;
using System.Text.Json;
using BankLedger.Endpoints;
using BankLedger.Ledger;
using Idempotency;
using Idempotency.PostgreSql;
using Microsoft.Extensions.Options;

namespace BankLedger.Queue;

/// <summary>
/// Applies the transfer commands of <see cref="TransferQueue"/>, each exactly once however often it is delivered. For
/// each command it begins a PostgreSQL unit of work, and <see cref="IdempotentExecutor"/> claims the command's message
/// id in it; the ledger writes of the transfer, the command's idempotency record and the deletion of its queue row then
/// commit in one transaction, or none of them does. A worker killed anywhere before that commit leaves the row, which
/// comes back after its visibility timeout and runs again; a redelivery after the commit (a duplicate message, or a
/// worker that died between the commit and anything after it) finds the record and is only acknowledged.
/// </summary>
/// <remarks>Runs when <c>TransferQueue:Enabled</c> is true, in <c>Idempotency:Store=postgres</c> mode only.</remarks>
public sealed partial class TransferQueueWorker(
    IServiceScopeFactory scopes,
    TransferQueue queue,
    PostgreSqlIdempotencyUnitOfWorkFactory unitsOfWork,
    IdempotentExecutor executor,
    IOptions<TransferQueueOptions> options,
    ILogger<TransferQueueWorker> logger) : BackgroundService
{
    /// <summary>
    /// The idempotency scope of queued commands: their message ids are the producer's, and never collide with the keys
    /// that HTTP clients send (scoped to their user).
    /// </summary>
    public const string KeyScope = "queue:bank-transfers";

    /// <summary>The operation name of a transfer command in the library's telemetry.</summary>
    public const string OperationName = "TransferCommand";

    private static readonly TimeSpan s_minimumDeferral = TimeSpan.FromMilliseconds(100);

    private readonly TransferQueueOptions _options = options.Value;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        LogStarted(_options.BatchSize, _options.VisibilityTimeout);
        while (!stoppingToken.IsCancellationRequested)
        {
            IReadOnlyList<QueuedCommand> batch;
            try
            {
                batch = await queue.TakeAsync(_options.BatchSize, _options.VisibilityTimeout, stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                LogTakeFailed(ex);
                await Task.Delay(_options.IdleDelay, stoppingToken);
                continue;
            }

            if (batch.Count == 0)
            {
                await Task.Delay(_options.IdleDelay, stoppingToken);
                continue;
            }

            LogBatchTaken(batch.Count, batch.Count(c => c.Attempts > 1));
            foreach (var command in batch)
            {
                try
                {
                    await HandleAsync(command, stoppingToken);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    // Nothing of the command committed (its unit of work rolled back): its row comes back after the
                    // visibility timeout, and the command runs again.
                    LogCommandFailed(ex, command.Id, command.Attempts);
                }
            }

            LogBatchDone(batch.Count);
        }
    }

    /// <summary>Applies one delivered command, or acknowledges it if its message id was applied before.</summary>
    internal async Task HandleAsync(QueuedCommand command, CancellationToken cancellationToken)
    {
        if (command.Attempts > 1)
        {
            LogRedelivered(command.MessageId, command.Attempts);
        }

        if (!TryRead(command, out var transfer, out var malformed))
        {
            await queue.DeadLetterAsync(command.Id, malformed, cancellationToken);
            LogDeadLettered(command.Id, malformed);
            return;
        }

        IdempotentResult<TransferCommandOutcome> result;
        try
        {
            result = await ApplyOnceAsync(command, transfer, cancellationToken);
        }
        catch (IdempotentOperationInFlightException ex)
        {
            // Another worker holds this message id right now (a duplicate taken at the same moment): look again once it
            // has committed, and then only acknowledge.
            LogInFlight(command.MessageId);
            await queue.DeferAsync(command.Id, ex.RetryAfter > s_minimumDeferral ? ex.RetryAfter : s_minimumDeferral, cancellationToken);
            return;
        }
        catch (IdempotencyKeyReusedException)
        {
            const string Reason = "The message id was applied before with another payload.";
            await queue.DeadLetterAsync(command.Id, Reason, cancellationToken);
            LogDeadLettered(command.Id, Reason);
            return;
        }
        catch (Exception ex) when (command.Attempts >= _options.MaxAttempts && !cancellationToken.IsCancellationRequested)
        {
            var reason = $"Failed on each of its {command.Attempts} deliveries; the last time with {ex.GetType().Name}.";
            await queue.DeadLetterAsync(command.Id, reason, cancellationToken);
            LogDeadLettered(command.Id, reason);
            return;
        }

        if (result.IsReplay)
        {
            // The command's own row went with its effect; this is another delivery of the same message.
            await queue.AcknowledgeAsync(command.Id, cancellationToken);
            LogReplayed(command.MessageId);
        }
        else
        {
            LogApplied(command.MessageId, result.Value.Error);
        }
    }

    private async Task<IdempotentResult<TransferCommandOutcome>> ApplyOnceAsync(QueuedCommand command, TransferCommand transfer, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        await using var unitOfWork = await unitsOfWork.BeginAsync(IsolationLevel.ReadCommitted, cancellationToken);

        // The scope's ledger writes through the unit of work's transaction once the executor has claimed the key in it.
        scope.ServiceProvider.GetRequiredService<PostgreSqlIdempotentTransaction>().Attach(unitOfWork);
        var ledger = scope.ServiceProvider.GetRequiredService<ILedger>();
        var operation = new IdempotentOperation(command.MessageId, command.Payload, KeyScope) { Name = OperationName, UnitOfWork = unitOfWork };
        return await executor.ExecuteAsync(
            operation,
            async ct =>
            {
                var transferred = await ledger.TransferAsync(transfer.UserId, transfer.From, transfer.To, transfer.Amount, ct);

                // The acknowledgement is part of the effect: the row goes when, and only if, the transfer commits.
                await TransferQueue.AcknowledgeAsync(unitOfWork.Connection, unitOfWork.Transaction, command.Id, ct);
                return new TransferCommandOutcome(transferred.Error, transferred.Value);
            },
            TransferQueueJsonContext.Default.TransferCommandOutcome,
            cancellationToken);
    }

    private static bool TryRead(QueuedCommand command, out TransferCommand transfer, out string reason)
    {
        transfer = null!;
        reason = string.Empty;
        if (IdempotencyKeyParser.TryParse(command.MessageId, strict: false, 255, out var key) != IdempotencyKeyParseStatus.Valid
            || !string.Equals(key, command.MessageId, StringComparison.Ordinal))
        {
            reason = "The message id is not a valid idempotency key (1 to 255 visible ASCII characters).";
            return false;
        }

        try
        {
            transfer = TransferCommand.FromBytes(command.Payload);
        }
        catch (JsonException)
        {
            reason = "The payload is not a transfer command.";
            return false;
        }

        // The same rules as the HTTP and gRPC APIs: a queued command is input too. A negative amount would run the
        // transfer backwards (out of the destination, another user's account), and would otherwise fail only on the
        // bank_transfers CHECK constraint, on every delivery, until MaxAttempts.
        if (string.IsNullOrEmpty(transfer.UserId) || transfer.Amount is <= 0 or > LedgerEndpoints.MaxAmount)
        {
            reason = $"The command needs a userId and a positive amount in cents of at most {LedgerEndpoints.MaxAmount}.";
            return false;
        }

        return true;
    }
}
