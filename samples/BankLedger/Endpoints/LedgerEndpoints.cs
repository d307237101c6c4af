using System.Buffers;
using System.Security.Claims;
using System.Text;
using BankLedger.Ledger;
using BankLedger.Storage;
using Idempotency.AspNetCore.Preconditions;

namespace BankLedger.Endpoints;

public sealed record OpenAccountRequest(string? Owner);

public sealed record AmountRequest(long? Amount);

public sealed record TransferRequest(long? From, long? To, long? Amount);

public sealed record EntryRequest(long? Amount, string? Memo);

/// <summary>
/// The ledger's HTTP API. Every write is protected against being applied twice: deposits, withdrawals and transfers
/// require an Idempotency-Key; entries require If-Match naming the account's last entry, so a duplicate fails with 412
/// (If-Match: * asks only that the account exist, and does not protect against a duplicate).
/// </summary>
public static partial class LedgerEndpoints
{
    public const string ProblemTypeBase = "https://bankledger.example/problems/";

    /// <summary>The largest amount one posting may move, in cents (10 trillion in the currency's units): far beyond any real
    /// posting, and far enough below <see cref="long.MaxValue"/> that balances cannot wrap around.</summary>
    public const long MaxAmount = 1_000_000_000_000_000;

    private const int MaxTextLength = 200;

    public static IEndpointRouteBuilder MapLedger(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("").RequireAuthorization();

        // With Idempotency:Store=postgres, keyed writes run in the transactional mode: the ledger write, the key and the
        // stored response commit together (a no-op in the other modes).
        var storage = app.ServiceProvider.GetRequiredService<LedgerStorage>();

        // Produces...: what each endpoint answers, for the OpenAPI document (/openapi/v1.json); the library's
        // transformers add the Idempotency-Key and If-Match headers and their problem responses.
        api.MapPost("/accounts", OpenAccountAsync).RequireIdempotency().WithLedgerTransaction(storage)
            .Produces<AccountView>(StatusCodes.Status201Created).ProducesValidationProblem();
        api.MapGet("/accounts/{id:long}", GetAccountAsync)
            .Produces<AccountView>().Produces(StatusCodes.Status304NotModified).ProducesProblem(StatusCodes.Status404NotFound);
        api.MapGet("/accounts/{id:long}/entries", GetEntriesAsync)
            .Produces<EntryView[]>().ProducesProblem(StatusCodes.Status404NotFound);
        api.MapGet("/accounts/{id:long}/entries/{entry:long}", GetEntryAsync)
            .Produces<EntryView>().ProducesProblem(StatusCodes.Status404NotFound);

        // "As long as the last entry is 563, create entry 564": no key needed, the condition makes a duplicate harmless.
        // A key is still honoured when sent, so a client retrying with one gets the original 201 replayed.
        api.MapPost("/accounts/{id:long}/entries", AppendEntryAsync).RequirePrecondition().EnableIdempotency().WithLedgerTransaction(storage)
            .Produces<PostingView>(StatusCodes.Status201Created).ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        api.MapPost("/accounts/{id:long}/deposits", DepositAsync).RequireIdempotency(LedgerPolicies.Payments).WithLedgerTransaction(storage)
            .Produces<PostingView>(StatusCodes.Status201Created).ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound);
        api.MapPost("/accounts/{id:long}/withdrawals", WithdrawAsync).RequireIdempotency(LedgerPolicies.Payments).WithLedgerTransaction(storage)
            .Produces<PostingView>(StatusCodes.Status201Created).ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        api.MapPost("/transfers", TransferAsync).RequireIdempotency(LedgerPolicies.Payments).WithLedgerTransaction(storage)
            .Produces<TransferView>(StatusCodes.Status201Created).ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        return app;
    }

    private static async Task<IResult> OpenAccountAsync(OpenAccountRequest? request, ClaimsPrincipal user, ILedger ledger, ILogger<ILedger> logger, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(request?.Owner) || !IsPrintableText(request.Owner))
        {
            return Invalid("owner", $"Give the account holder's name, at most {MaxTextLength} printable characters: {{\"owner\":\"andrew\"}}.");
        }

        var account = await ledger.OpenAccountAsync(UserId(user), request.Owner, ct);
        LogAccountOpened(logger, account.Id, account.Owner);
        return Results.Created($"/accounts/{account.Id}", account);
    }

    private static async Task<IResult> GetAccountAsync(long id, ClaimsPrincipal user, ILedger ledger, HttpRequest request, HttpResponse response, CancellationToken ct)
    {
        var account = await ledger.GetAccountAsync(UserId(user), id, ct);
        if (account is null)
        {
            return AccountNotFound(id);
        }

        // The account's version is its last entry number: the tag a client sends back in If-Match to append after it.
        var etag = EntityTag.FromVersion(account.LastEntry);
        if (request.EvaluatePreconditions(etag) is { CanProceed: false } precondition)
        {
            return precondition.ToHttpResult(); // 304 for If-None-Match: "563" while entry 563 is still the last
        }

        response.Headers.ETag = etag.ToString();
        return Results.Ok(account);
    }

    private static async Task<IResult> GetEntriesAsync(long id, ClaimsPrincipal user, ILedger ledger, CancellationToken ct)
    {
        var entries = await ledger.GetEntriesAsync(UserId(user), id, ct);
        return entries is null ? AccountNotFound(id) : Results.Ok(entries);
    }

    private static async Task<IResult> GetEntryAsync(long id, long entry, ClaimsPrincipal user, ILedger ledger, CancellationToken ct)
    {
        var entries = await ledger.GetEntriesAsync(UserId(user), id, ct);
        if (entries is null)
        {
            return AccountNotFound(id);
        }

        return entry >= 1 && entry <= entries.Count
            ? Results.Ok(entries[(int)(entry - 1)])
            : Results.Problem(
                statusCode: StatusCodes.Status404NotFound,
                type: ProblemTypeBase + "entry-not-found",
                title: "Entry not found",
                detail: $"Account {id} has no entry {entry}.");
    }

    private static async Task<IResult> AppendEntryAsync(long id, EntryRequest? request, ClaimsPrincipal user, ILedger ledger, HttpRequest http, ILogger<ILedger> logger, CancellationToken ct)
    {
        if (request is not { Amount: { } amount } || amount == 0 || amount is < -MaxAmount or > MaxAmount)
        {
            return Invalid("amount", $"Give a non-zero amount in cents of at most {MaxAmount} either way, negative for a withdrawal: {{\"amount\":-10000,\"memo\":\"rent\"}}.");
        }

        if (request.Memo is { } memo && !IsPrintableText(memo))
        {
            return Invalid("memo", $"Keep the memo to {MaxTextLength} printable characters.");
        }

        if (http.Headers.IfMatch.Count == 0)
        {
            return PreconditionResults.PreconditionRequired(
                $"Send If-Match with the ETag of account {id} exactly as GET /accounts/{id} returned it, such as If-Match: \"563\" " +
                "to create entry 564 only while entry 563 is the last.");
        }

        // UsePreconditions has already answered 400 to an If-Match or If-None-Match that is not a valid list. The rest is
        // RFC 9110 section 13.2.2, evaluated by the library against the ETag of the account's last entry, inside the
        // ledger's atomic append: If-Match by strong comparison (a weak tag never matches; a list matches when one of
        // its tags is the current one; * whenever the account exists), then If-None-Match (a match is 412 on a POST).
        var result = await ledger.AppendIfAsync(
            UserId(user), id, last => http.EvaluatePreconditions(EntityTag.FromVersion(last)).CanProceed, amount, request.Memo, ct);
        switch (result.Error)
        {
            case LedgerError.AccountNotFound:
                return AccountNotFound(id);
            case LedgerError.InsufficientFunds:
                return InsufficientFunds(id);
            case LedgerError.BalanceLimitExceeded:
                return BalanceLimitExceeded(id);
            case LedgerError.LastEntryMismatch:
                LogEntryRefused(logger, id, result.LastEntry);
                break;
            default:
                LogEntryAppended(logger, result.LastEntry, amount, id);
                break;
        }

        // 201 + ETag "564" + Location when appended; 412 problem + ETag of the actual last entry when not.
        return result.Write.ToHttpResult(location: $"/accounts/{id}/entries/{result.Write.Version}", value: result.Posting);
    }

    private static Task<IResult> DepositAsync(long id, AmountRequest? request, ClaimsPrincipal user, ILedger ledger, ILogger<ILedger> logger, CancellationToken ct) =>
        PostAsync(id, request, negate: false, user, ledger, logger, ct);

    private static Task<IResult> WithdrawAsync(long id, AmountRequest? request, ClaimsPrincipal user, ILedger ledger, ILogger<ILedger> logger, CancellationToken ct) =>
        PostAsync(id, request, negate: true, user, ledger, logger, ct);

    private static async Task<IResult> PostAsync(long id, AmountRequest? request, bool negate, ClaimsPrincipal user, ILedger ledger, ILogger<ILedger> logger, CancellationToken ct)
    {
        if (request?.Amount is not (> 0 and <= MaxAmount))
        {
            return Invalid("amount", $"Give a positive amount in cents, at most {MaxAmount}: {{\"amount\":10000}}.");
        }

        var amount = negate ? -request.Amount.Value : request.Amount.Value;
        var result = await ledger.PostAsync(UserId(user), id, amount, ct);
        switch (result.Error)
        {
            case LedgerError.AccountNotFound:
                return AccountNotFound(id);
            case LedgerError.InsufficientFunds:
                LogWithdrawalRefused(logger, -amount, id);
                return InsufficientFunds(id);
            case LedgerError.BalanceLimitExceeded:
                return BalanceLimitExceeded(id);
        }

        var posting = result.Value!;
        LogEntryPosted(logger, posting.Entry, amount, id, posting.Balance);
        return Results.Json(posting, statusCode: StatusCodes.Status201Created);
    }

    private static async Task<IResult> TransferAsync(TransferRequest? request, ClaimsPrincipal user, ILedger ledger, ILogger<ILedger> logger, CancellationToken ct)
    {
        if (request is not { From: { } from, To: { } to, Amount: > 0 and <= MaxAmount and var amount })
        {
            return Invalid("transfer", $"Give the source and destination accounts and a positive amount in cents, at most {MaxAmount}: {{\"from\":1,\"to\":2,\"amount\":10000}}.");
        }

        var result = await ledger.TransferAsync(UserId(user), from, to, amount, ct);
        switch (result.Error)
        {
            case LedgerError.AccountNotFound:
                return Results.Problem(
                    statusCode: StatusCodes.Status404NotFound,
                    type: ProblemTypeBase + "account-not-found",
                    title: "Account not found",
                    detail: $"Transfers go from one of your accounts to another existing account; account {from} or {to} does not qualify.");
            case LedgerError.InsufficientFunds:
                return InsufficientFunds(from);
            case LedgerError.BalanceLimitExceeded:
                return BalanceLimitExceeded(to);
        }

        var transfer = result.Value!;
        LogTransferMade(logger, transfer.Id, amount, from, to);
        return Results.Created($"/transfers/{transfer.Id}", transfer);
    }

    // Names and memos are shown to people and stored as text: no control characters (PostgreSQL text cannot even hold
    // U+0000), no half of a surrogate pair, and a bounded length.
    private static bool IsPrintableText(string value)
    {
        if (value.Length > MaxTextLength)
        {
            return false;
        }

        var rest = value.AsSpan();
        while (!rest.IsEmpty)
        {
            if (Rune.DecodeFromUtf16(rest, out var rune, out var consumed) != OperationStatus.Done || Rune.IsControl(rune))
            {
                return false;
            }

            rest = rest[consumed..];
        }

        return true;
    }

    private static string UserId(ClaimsPrincipal user) => user.FindFirstValue(ClaimTypes.NameIdentifier)!;

    private static IResult AccountNotFound(long id) => Results.Problem(
        statusCode: StatusCodes.Status404NotFound,
        type: ProblemTypeBase + "account-not-found",
        title: "Account not found",
        detail: $"You have no account {id}.");

    private static IResult InsufficientFunds(long id) => Results.Problem(
        statusCode: StatusCodes.Status409Conflict,
        type: ProblemTypeBase + "insufficient-funds",
        title: "Insufficient funds",
        detail: $"Account {id} holds less than the amount requested.");

    private static IResult BalanceLimitExceeded(long id) => Results.Problem(
        statusCode: StatusCodes.Status409Conflict,
        type: ProblemTypeBase + "balance-limit",
        title: "Balance limit reached",
        detail: $"Account {id} cannot hold more than {LedgerLimits.MaxBalance} cents, and this credit would take it past that. Move money out of it first, or credit another account.");

    private static IResult Invalid(string field, string detail) => Results.ValidationProblem(
        new Dictionary<string, string[]> { [field] = [detail] },
        detail: detail,
        type: ProblemTypeBase + "invalid-request");
}
