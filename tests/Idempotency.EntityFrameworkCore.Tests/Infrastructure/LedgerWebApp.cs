using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Idempotency.EntityFrameworkCore.Tests.Infrastructure;

/// <summary>
/// A ledger service on a real Kestrel (127.0.0.1, a free port) whose deposit endpoint runs in an EF Core idempotency
/// transaction: <c>POST /deposits/{account}</c> adds a ledger entry through the request's <see cref="LedgerDbContext"/>
/// and answers 201 with its id. <c>X-Fail: throw</c> makes the handler throw after saving its entry;
/// <c>X-Fail: commit-then-throw</c> and <c>X-Fail: commit-then-503</c> make it commit the context's transaction itself
/// (against the docs) and then throw, or answer 503.
/// </summary>
internal sealed class LedgerWebApp : IAsyncDisposable
{
    public const string InHandlerLine = "EF-LEDGER-IN-HANDLER";
    public const string ListeningLine = "EF-LEDGER-LISTENING";

    private readonly WebApplication _app;
    private readonly Counter _runs;

    private LedgerWebApp(WebApplication app, Counter runs, HttpClient client)
    {
        _app = app;
        _runs = runs;
        Client = client;
    }

    public HttpClient Client { get; }

    public int HandlerRuns => Volatile.Read(ref _runs.Value);

    public static Task<LedgerWebApp> StartAsync(string connectionString, bool retryOnFailure = false, params IInterceptor[] interceptors) =>
        StartAsync(connectionString, retryOnFailure, logs: null, interceptors);

    public static async Task<LedgerWebApp> StartAsync(string connectionString, bool retryOnFailure, ILoggerProvider? logs, params IInterceptor[] interceptors)
    {
        var port = FreePort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.ClearProviders();
        if (logs is not null)
        {
            builder.Logging.AddProvider(logs);
        }
        builder.Services.AddDbContext<LedgerDbContext>(options => EfCoreFixture.Configure(options, connectionString, retryOnFailure, interceptors));
        builder.Services.AddIdempotency().UseEntityFrameworkCore<LedgerDbContext>();

        var runs = new Counter();
        var app = builder.Build();
        app.UseRouting();
        app.UseIdempotency();
        app.MapPost("/deposits/{account}", async (string account, HttpContext context, LedgerDbContext db) =>
        {
            Interlocked.Increment(ref runs.Value);
            var entry = new LedgerEntry { Account = account, Amount = 100 };
            db.Entries.Add(entry);
            await db.SaveChangesAsync(context.RequestAborted);
            if (context.Request.Headers["X-Hold"] == "forever")
            {
                Console.WriteLine(InHandlerLine);
                await Task.Delay(Timeout.Infinite, context.RequestAborted);
            }

            if (context.Request.Headers["X-Fail"] is ["commit-then-throw" or "commit-then-503"])
            {
                await db.Database.CommitTransactionAsync(context.RequestAborted);
                if (context.Request.Headers["X-Fail"] == "commit-then-503")
                {
                    return Results.StatusCode(StatusCodes.Status503ServiceUnavailable);
                }

                throw new InvalidOperationException("The handler failed after committing its entry.");
            }

            if (context.Request.Headers["X-Fail"] == "throw")
            {
                throw new InvalidOperationException("The handler failed after saving its entry.");
            }

            return Results.Created($"/deposits/{entry.Id}", new { id = entry.Id, account });
        }).RequireIdempotency().WithEntityFrameworkCoreTransaction();

        await app.StartAsync();
        var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        return new LedgerWebApp(app, runs, client);
    }

    /// <summary>Serves the app until the process ends (the child process of the kill test), printing <see cref="ListeningLine"/> and its port.</summary>
    public static async Task RunUntilKilledAsync(string connectionString)
    {
        await using var app = await StartAsync(connectionString);
        Console.WriteLine($"{ListeningLine} {app.Client.BaseAddress}");
        await app._app.WaitForShutdownAsync();
    }

    public static HttpRequestMessage Deposit(string account, string key, string? fail = null, string? hold = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/deposits/{account}")
        {
            Content = new StringContent("{\"amount\":100}", MediaTypeHeaderValue.Parse("application/json")),
        };
        request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
        if (fail is not null)
        {
            request.Headers.Add("X-Fail", fail);
        }

        if (hold is not null)
        {
            request.Headers.Add("X-Hold", hold);
        }

        return request;
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.DisposeAsync();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private sealed class Counter
    {
        public int Value;
    }
}
