using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using Idempotency.AspNetCore.Deduplication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;

namespace Idempotency.Chaos.Tests.Ledger;

/// <summary>
/// The chaos ledger: a minimal money service on real Kestrel (127.0.0.1 only) behind the real idempotency middleware,
/// with the store under test. <c>POST /accounts/{account}/deposits</c> and <c>/withdrawals</c> (<c>{"amount":n}</c>)
/// and <c>POST /transfers</c> (<c>{"from":"a","to":"b","amount":n}</c>) require a key and answer 201.
/// With <see cref="ChaosStore.PostgreSqlTransactional"/> the writes run in the request's idempotency transaction and
/// the effects go to the same database. It accepts overdrafts on purpose: no request is ever refused for funds, so the expected final balances do not depend
/// on the order in which concurrent requests land, and any difference is a lost or repeated effect.
/// </summary>
internal sealed class ChaosLedgerApp : IAsyncDisposable
{
    public const string OperationHeader = "X-Chaos-Op";
    public const string ListeningLine = "CHAOS-LEDGER-LISTENING";

    private readonly WebApplication _app;
    private readonly MetricCollector<long> _requests;
    private readonly HandlerCounter _handlerRuns;

    private readonly ChaosLedgerOptions _options;

    private ChaosLedgerApp(WebApplication app, ChaosLedgerOptions options, ILedgerBook book, Uri baseAddress)
    {
        _app = app;
        _options = options;
        Book = book;
        BaseAddress = baseAddress;
        _handlerRuns = app.Services.GetRequiredService<HandlerCounter>();
        _requests = new MetricCollector<long>(app.Services.GetRequiredService<IMeterFactory>(), IdempotencyTelemetry.MeterName, "idempotency.requests");
    }

    public ILedgerBook Book { get; }

    public Uri BaseAddress { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>Gets how many times a write handler started applying its effect, committed or not.</summary>
    public int HandlerRuns => _handlerRuns.Count;

    /// <summary>Counts the effects applied (committed, in transactional mode) per operation.</summary>
    public async Task<LedgerTally> TallyAsync() => Book switch
    {
        MemoryLedgerBook memory => memory.Tally(),
        PostgreSqlLedgerBook => PostgreSqlLedgerBook.Tally(await PostgreSqlLedgerBook.ReadAsync(PostgreSqlConnectionString(_options))),
        _ => throw new InvalidOperationException("This ledger keeps its effects in a journal: read it with Journal.Read."),
    };

    /// <summary>
    /// Gets how many completions the store sent again after losing its server (events 3113, Redis, and 3003, PostgreSQL):
    /// an outage that every in-flight request met after its claim is felt here, not as a 503.
    /// </summary>
    public int CompletionsSentAgain => _app.Services.GetFakeLogCollector().GetSnapshot().Count(log => log.Id.Id is 3113 or 3003);

    /// <summary>Gets the middleware's own count of requests by outcome (<c>idempotency.requests</c>), as text for the report.</summary>
    public string Outcomes => string.Join(", ", _requests.GetMeasurementSnapshot()
        .GroupBy(m => Convert.ToString(m.Tags["outcome"], CultureInfo.InvariantCulture))
        .OrderBy(g => g.Key, StringComparer.Ordinal)
        .Select(g => $"{g.Key}: {g.Sum(m => m.Value)}"));

    public static async Task<ChaosLedgerApp> StartAsync(ChaosLedgerOptions options, ILedgerBook? book = null)
    {
        book ??= options switch
        {
            { Store: ChaosStore.PostgreSqlTransactional } => new PostgreSqlLedgerBook(PostgreSqlConnectionString(options), options.Incarnation),
            { JournalPath: { } path } => new JournalLedgerBook(path, options.Incarnation),
            _ => new MemoryLedgerBook(),
        };
        var app = Build(options, book);
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new ChaosLedgerApp(app, options, book, new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal) + "/"));
    }

    public async ValueTask DisposeAsync()
    {
        _requests.Dispose();
        await _app.DisposeAsync();
        (Book as IDisposable)?.Dispose();
    }

    private static WebApplication Build(ChaosLedgerOptions options, ILedgerBook book)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, options.Port));
        builder.Logging.ClearProviders();
        // Only the stores' own events, for CompletionsSentAgain: the middleware's per-request lines are not kept.
        builder.Logging.AddFakeLogging(logs =>
        {
            logs.FilteredCategories.Add("Idempotency.Redis.RedisIdempotencyStore");
            logs.FilteredCategories.Add("Idempotency.PostgreSql.PostgreSqlIdempotencyStore");
        });
        builder.Services.AddSingleton(book);
        builder.Services.AddSingleton<HandlerCounter>();

        var idempotency = builder.Services.AddIdempotency(o => o.LeaseDuration = options.LeaseDuration);
        switch (options.Store)
        {
            case ChaosStore.Redis:
                idempotency.AddRedisStore(options.RedisConnectionString ?? throw new InvalidOperationException("The Redis store needs a connection string."));
                break;
            case ChaosStore.PostgreSql or ChaosStore.PostgreSqlTransactional:
                idempotency.AddPostgreSqlStore(PostgreSqlConnectionString(options), o => o.CreateSchemaOnStartup = true);
                break;
            default:
                idempotency.AddInMemoryStore();
                break;
        }

        var app = builder.Build();
        app.UseIdempotency();
        app.MapGet("/healthz", () => Results.Text("ok"));
        app.MapGet("/accounts/{account}", async (string account, ILedgerBook ledger) =>
            await ledger.BalanceAsync(account) is { } balance ? Results.Json(new BalanceView(account, balance)) : Results.NotFound());

        var writes = app.MapGroup("");
        writes.MapPost("/accounts/{account}/deposits", (string account, AmountBody body, HttpContext context, ILedgerBook ledger) =>
            PostAsync(context, ledger, options, [new LedgerLeg(account, body.Amount)]));
        writes.MapPost("/accounts/{account}/withdrawals", (string account, AmountBody body, HttpContext context, ILedgerBook ledger) =>
            PostAsync(context, ledger, options, [new LedgerLeg(account, -body.Amount)]));
        writes.MapPost("/transfers", (TransferBody body, HttpContext context, ILedgerBook ledger) =>
            PostAsync(context, ledger, options, [new LedgerLeg(body.From, -body.Amount), new LedgerLeg(body.To, body.Amount)]));
        if (options.RequireKeys)
        {
            writes.RequireIdempotency();
        }

        if (options.Store == ChaosStore.PostgreSqlTransactional)
        {
            writes.WithPostgreSqlTransaction();
        }

        return app;
    }

    private static async Task<IResult> PostAsync(HttpContext context, ILedgerBook ledger, ChaosLedgerOptions options, LedgerLeg[] legs)
    {
        var operation = context.Request.Headers[OperationHeader].ToString();
        if (operation.Length == 0 || legs.Any(l => l.Delta == 0 || string.IsNullOrEmpty(l.Account)))
        {
            return Results.BadRequest();
        }

        // Ignores the request's cancellation on purpose, as a handler that has started writing does: a client that gave
        // up must not decide whether the effect happens.
        await PauseAsync(options);
        var key = context.Features.Get<IIdempotencyFeature>()?.Key;
        context.RequestServices.GetRequiredService<HandlerCounter>().Increment();
        await ledger.ApplyAsync(context, new LedgerPosting(operation, key, legs), CancellationToken.None);
        await PauseAsync(options);
        return Results.Json(new PostingView(operation, options.Incarnation, legs.Length), statusCode: StatusCodes.Status201Created);
    }

    private static Task PauseAsync(ChaosLedgerOptions options) =>
        options.MaxHandlerPauseMilliseconds <= 0 ? Task.CompletedTask : Task.Delay(Random.Shared.Next(options.MaxHandlerPauseMilliseconds + 1));

    private static string PostgreSqlConnectionString(ChaosLedgerOptions options) =>
        options.PostgreSqlConnectionString ?? throw new InvalidOperationException("The PostgreSQL store needs a connection string.");

    internal sealed record AmountBody(long Amount);

    internal sealed record TransferBody(string From, string To, long Amount);

    internal sealed record BalanceView(string Account, long Balance);

    internal sealed record PostingView(string Operation, int Incarnation, int Legs);

    private sealed class HandlerCounter
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public void Increment() => Interlocked.Increment(ref _count);
    }
}
