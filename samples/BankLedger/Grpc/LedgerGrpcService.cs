using System.Security.Claims;
using BankLedger.Endpoints;
using BankLedger.Ledger;
using Grpc.Core;
using Idempotency.Grpc.AspNetCore;
using Microsoft.AspNetCore.Authorization;

namespace BankLedger.Grpc;

/// <summary>
/// Deposits and transfers over gRPC, on the ledger the JSON API writes to. Each call requires an
/// <c>idempotency-key</c> metadata entry (<see cref="RequireIdempotentCallAttribute"/>): a retry gets the first
/// call's reply, status and trailers, and a deposit is never applied twice. Errors the client caused (an invalid
/// amount, an unknown account, short funds) are final statuses, stored and replayed like a success.
/// </summary>
[Authorize]
public sealed partial class LedgerGrpcService(ILedger ledger, ILogger<LedgerGrpcService> logger) : LedgerService.LedgerServiceBase
{
    /// <inheritdoc />
    [RequireIdempotentCall]
    public override async Task<PostingReply> Deposit(DepositRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        if (request.Amount is <= 0 or > LedgerEndpoints.MaxAmount)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"Give a positive amount in cents, at most {LedgerEndpoints.MaxAmount}."));
        }

        var result = await ledger.PostAsync(UserId(context), request.AccountId, request.Amount, context.CancellationToken);
        switch (result.Error)
        {
            case LedgerError.AccountNotFound:
                throw new RpcException(new Status(StatusCode.NotFound, $"You have no account {request.AccountId}."));
            case LedgerError.BalanceLimitExceeded:
                throw new RpcException(new Status(StatusCode.FailedPrecondition, BalanceLimitExceeded(request.AccountId)));
        }

        var posting = result.Value!;
        LogDepositPosted(logger, posting.Entry, posting.Amount, posting.Account, posting.Balance);
        return new PostingReply { AccountId = posting.Account, Entry = posting.Entry, Amount = posting.Amount, Balance = posting.Balance };
    }

    /// <inheritdoc />
    [RequireIdempotentCall]
    public override async Task<TransferReply> Transfer(TransferRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        if (request.Amount is <= 0 or > LedgerEndpoints.MaxAmount)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"Give a positive amount in cents, at most {LedgerEndpoints.MaxAmount}."));
        }

        var result = await ledger.TransferAsync(UserId(context), request.FromAccountId, request.ToAccountId, request.Amount, context.CancellationToken);
        switch (result.Error)
        {
            case LedgerError.AccountNotFound:
                throw new RpcException(new Status(
                    StatusCode.NotFound,
                    $"Transfers go from one of your accounts to another existing account; account {request.FromAccountId} or {request.ToAccountId} does not qualify."));
            case LedgerError.InsufficientFunds:
                // FAILED_PRECONDITION, not ABORTED or UNAVAILABLE: a final answer, stored and replayed, never retried as is.
                throw new RpcException(new Status(StatusCode.FailedPrecondition, $"Account {request.FromAccountId} holds less than the amount requested."));
            case LedgerError.BalanceLimitExceeded:
                throw new RpcException(new Status(StatusCode.FailedPrecondition, BalanceLimitExceeded(request.ToAccountId)));
        }

        var transfer = result.Value!;
        LogTransferMade(logger, transfer.Id, transfer.Amount, transfer.From, transfer.To);
        return new TransferReply { Id = transfer.Id, FromAccountId = transfer.From, ToAccountId = transfer.To, Amount = transfer.Amount };
    }

    private static string BalanceLimitExceeded(long accountId) =>
        $"Account {accountId} cannot hold more than {LedgerLimits.MaxBalance} cents, and this credit would take it past that.";

    private static string UserId(ServerCallContext context) =>
        context.GetHttpContext().User.FindFirstValue(ClaimTypes.NameIdentifier)!;
}
