using System.Data;
using System.Net.Http.Headers;
using Dapper;
using Idempotency.AspNetCore.Deduplication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Idempotency.PostgreSql.Tests.Infrastructure;

/// <summary>
/// A tiny ledger service in PostgreSQL transactional mode: <c>POST /deposits/{account}</c> inserts a ledger entry
/// through the request's transaction and answers 201. Headers, which are not part of the request's fingerprint, make
/// the handler misbehave after its insert: <c>X-Fail: throw</c>, <c>X-Fail: 503</c>, <c>X-Fail: abort</c> (a swallowed
/// database error, then 409), <c>X-Hold: gate</c> (wait for <see cref="LedgerGate"/>), <c>X-Hold: forever</c> (print a
/// line and never return; for the process-kill test). <c>X-End: commit</c> or <c>X-End: rollback</c> makes it end the
/// request's transaction itself after its insert (against the docs) and then insert a deposit to bob outside it.
/// </summary>
internal sealed class LedgerApp : IAsyncDisposable
{
    public const string InHandlerLine = "LEDGER-IN-HANDLER";
    public const string ListeningLine = "LEDGER-LISTENING";

    private readonly WebApplication _app;
    private readonly HandlerRunCounter _runs;

    private LedgerApp(WebApplication app, HandlerRunCounter runs, HttpClient? client)
    {
        _app = app;
        _runs = runs;
        Client = client;
    }

    /// <summary>Gets the client of the in-memory test server (null when the app listens on Kestrel).</summary>
    public HttpClient? Client { get; }

    /// <summary>Gets the app's services (its meter factory, for instance).</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>Gets how many times the deposit handler has started, whatever became of its transaction.</summary>
    public int HandlerRuns => Volatile.Read(ref _runs.Count);

    /// <summary>Starts the app on an in-memory test server.</summary>
    /// <param name="database">The app's tables.</param>
    /// <param name="gate">Holds handlers that send <c>X-Hold: gate</c>.</param>
    /// <param name="isolationLevel">The isolation level of the deposit endpoint's transaction.</param>
    /// <param name="waitForInFlightDuplicates">Whether a duplicate waits for the original (<see cref="InFlightDuplicateHandling.Wait"/>) instead of getting 409.</param>
    public static async Task<LedgerApp> StartTestServerAsync(
        LedgerDatabase database, LedgerGate? gate = null, IsolationLevel isolationLevel = IsolationLevel.ReadCommitted, bool waitForInFlightDuplicates = false)
    {
        var runs = new HandlerRunCounter();
        var app = Build(database, gate, port: null, runs, isolationLevel, waitForInFlightDuplicates);
        await app.StartAsync();
        return new LedgerApp(app, runs, app.GetTestClient());
    }

    /// <summary>Runs the app on Kestrel at 127.0.0.1:<paramref name="port"/> until the process ends (the child process of the kill test).</summary>
    public static async Task RunOnKestrelAsync(LedgerDatabase database, int port)
    {
        var app = Build(database, gate: null, port, new HandlerRunCounter(), IsolationLevel.ReadCommitted, waitForInFlightDuplicates: false);
        await app.StartAsync();
        Console.WriteLine(ListeningLine);
        await app.WaitForShutdownAsync();
    }

    public static HttpRequestMessage Deposit(string account, string? key, string? fail = null, string? hold = null, string? end = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/deposits/{account}")
        {
            Content = new StringContent("{\"amount\":100}", MediaTypeHeaderValue.Parse("application/json")),
        };
        if (key is not null)
        {
            request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
        }

        if (fail is not null)
        {
            request.Headers.Add("X-Fail", fail);
        }

        if (hold is not null)
        {
            request.Headers.Add("X-Hold", hold);
        }

        if (end is not null)
        {
            request.Headers.Add("X-End", end);
        }

        return request;
    }

    public async ValueTask DisposeAsync()
    {
        Client?.Dispose();
        await _app.DisposeAsync();
    }

    private static WebApplication Build(
        LedgerDatabase database, LedgerGate? gate, int? port, HandlerRunCounter runs, IsolationLevel isolationLevel, bool waitForInFlightDuplicates)
    {
        var builder = WebApplication.CreateSlimBuilder();
        if (port is { } p)
        {
            builder.WebHost.UseUrls($"http://127.0.0.1:{p}");
        }
        else
        {
            builder.WebHost.UseTestServer();
        }

        builder.Logging.ClearProviders();
        builder.Services.AddIdempotency(o =>
        {
            if (waitForInFlightDuplicates)
            {
                o.InFlightDuplicates = InFlightDuplicateHandling.Wait;
                o.InFlightWaitTimeout = TimeSpan.FromSeconds(30); // a hang guard, far above any wait the tests cause
            }
        }).AddPostgreSqlStore(database.ConnectionString, o =>
        {
            o.TableName = database.RecordsTable;
            o.EnableCleanup = false;
        });

        var app = builder.Build();
        app.UseRouting();
        app.UseIdempotency();
        var ledger = database.LedgerTable;
        app.MapPost("/deposits/{account}", async (string account, HttpContext context, PostgreSqlIdempotentTransaction tx) =>
        {
            Interlocked.Increment(ref runs.Count);
            string? fail = context.Request.Headers["X-Fail"];
            string? hold = context.Request.Headers["X-Hold"];
            string? end = context.Request.Headers["X-End"];
            var id = await tx.Connection.ExecuteScalarAsync<long>(
                $"INSERT INTO {ledger} (account, amount) VALUES (@account, 100) RETURNING id", new { account }, tx.Transaction);
            if (end is not null)
            {
                // Wrong on purpose: the handler ends the request's transaction itself, then writes outside any transaction.
                await (end == "commit" ? tx.Transaction.CommitAsync() : tx.Transaction.RollbackAsync());
                await tx.Connection.ExecuteAsync($"INSERT INTO {ledger} (account, amount) VALUES ('bob', 100)");
            }
            if (hold == "forever")
            {
                Console.WriteLine(InHandlerLine);
                await Task.Delay(Timeout.Infinite, context.RequestAborted);
            }
            else if (hold is not null && gate is not null)
            {
                await gate.EnterAsync();
            }

            switch (fail)
            {
                case "throw":
                    throw new InvalidOperationException("The handler failed after its insert.");
                case "503":
                    return Results.Text("try later", statusCode: StatusCodes.Status503ServiceUnavailable);
                case "abort":
                    try
                    {
                        await tx.Connection.ExecuteAsync("SELECT 1 / 0", transaction: tx.Transaction);
                    }
                    catch (PostgresException)
                    {
                        // Wrong on purpose: the transaction is now aborted, yet the handler answers as if it could go on.
                    }

                    return Results.Conflict(new { error = "rejected" });
                default:
                    return Results.Created($"/deposits/{id}", new { id, account });
            }
        }).RequireIdempotency().WithPostgreSqlTransaction(isolationLevel);
        return app;
    }

    private sealed class HandlerRunCounter
    {
        public int Count;
    }
}

/// <summary>Holds handlers that ask for it until the test opens it; counts who is waiting.</summary>
internal sealed class LedgerGate
{
    private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when a handler is waiting at the gate (it has inserted its entry).</summary>
    public Task Entered => _entered.Task;

    public Task EnterAsync()
    {
        _entered.TrySetResult();
        return _open.Task;
    }

    public void Open() => _open.TrySetResult();
}

/// <summary>The tables of one ledger test: the idempotency records and the ledger, both new.</summary>
internal sealed class LedgerDatabase
{
    private LedgerDatabase(string connectionString, string suffix)
    {
        ConnectionString = connectionString;
        RecordsTable = "records_" + suffix;
        LedgerTable = "ledger_" + suffix;
        AccountsTable = "accounts_" + suffix;
    }

    public string ConnectionString { get; }

    public string RecordsTable { get; }

    public string LedgerTable { get; }

    public string AccountsTable { get; }

    /// <summary>
    /// Creates the tables. Ledger entries reference an account through a foreign key checked only at commit, so a
    /// deposit to an unknown account fails at the very end: at COMMIT.
    /// </summary>
    public static async Task<LedgerDatabase> CreateAsync(string connectionString, string? suffix = null)
    {
        var database = new LedgerDatabase(connectionString, suffix ?? Guid.NewGuid().ToString("N")[..16]);
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using var connection = await dataSource.OpenConnectionAsync();
        await connection.ExecuteAsync(PostgreSqlSchemaScript.For("public", database.RecordsTable));
        await connection.ExecuteAsync($"""
            CREATE TABLE {database.AccountsTable} (name text PRIMARY KEY);
            INSERT INTO {database.AccountsTable} VALUES ('alice'), ('bob');
            CREATE TABLE {database.LedgerTable} (
                id bigserial PRIMARY KEY,
                account text NOT NULL REFERENCES {database.AccountsTable} (name) DEFERRABLE INITIALLY DEFERRED,
                amount int NOT NULL);
            """);
        return database;
    }

    /// <summary>The tables that <see cref="CreateAsync"/> created with <paramref name="suffix"/>.</summary>
    public static LedgerDatabase Attach(string connectionString, string suffix) => new(connectionString, suffix);

    public string Suffix => LedgerTable["ledger_".Length..];

    public async Task<int> LedgerCountAsync()
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        return await connection.QuerySingleAsync<int>($"SELECT count(*)::int FROM {LedgerTable}");
    }

    /// <summary>The committed state of the record of <paramref name="clientKey"/> (anonymous scope), or null.</summary>
    public async Task<short?> RecordStateAsync(string clientKey)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        return await connection.QuerySingleOrDefaultAsync<short?>(
            $"SELECT state FROM {RecordsTable} WHERE key = @key", new { key = IdempotencyStorageKey.Create(string.Empty, clientKey) });
    }
}
