using Grpc.Core;
using Grpc.Net.Client;
using Idempotency.AspNetCore.Deduplication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Idempotency.Grpc.AspNetCore.Tests;

/// <summary>A real Kestrel on 127.0.0.1, HTTP/2 without TLS, hosting the test services, and a real gRPC client to it.</summary>
internal sealed class GrpcTestServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private GrpcTestServer(WebApplication app, string address, GrpcChannel channel)
    {
        _app = app;
        Address = address;
        Channel = channel;
        State = app.Services.GetRequiredService<LedgerState>();
        Client = new Ledger.LedgerClient(channel);
    }

    public string Address { get; }

    public GrpcChannel Channel { get; }

    public Ledger.LedgerClient Client { get; }

    public LedgerState State { get; }

    public IServiceProvider Services => _app.Services;

    public static async Task<GrpcTestServer> StartAsync(
        Action<IServiceCollection>? configureServices = null,
        Action<WebApplication>? map = null,
        Action<IdempotencyOptions>? configureOptions = null,
        bool grpcIdempotency = true)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(System.Net.IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.AddSingleton<LedgerState>();
        var grpc = builder.Services.AddGrpc(grpc => grpc.EnableDetailedErrors = true);
        if (grpcIdempotency)
        {
            grpc.AddIdempotency(configureOptions);
        }

        configureServices?.Invoke(builder.Services);
        var app = builder.Build();
        if (map is null)
        {
            app.MapGrpcService<LedgerService>();
        }
        else
        {
            map(app);
        }

        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new GrpcTestServer(app, address, GrpcChannel.ForAddress(address));
    }

    public static Metadata Key(string key) => new() { { "idempotency-key", key } };

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>Counts the deposits that really ran, and can hold them at a gate.</summary>
internal sealed class LedgerState
{
    private int _executions;

    public int Executions => Volatile.Read(ref _executions);

    /// <summary>Completed when a deposit has started; deposits wait at <see cref="Gate"/>.</summary>
    public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource Gate { get; set; } = Open();

    /// <summary>Gets or sets how many of the next deposits fail with UNAVAILABLE (a fault the client's retries absorb).</summary>
    public int FailuresLeft { get; set; }

    /// <summary>Gets the idempotency key each deposit attempt carried, in order.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<string?> KeysSeen { get; } = new();

    public int Run() => Interlocked.Increment(ref _executions);

    private static TaskCompletionSource Open()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        gate.SetResult();
        return gate;
    }
}

internal sealed class LedgerService(LedgerState state) : Ledger.LedgerBase
{
    [RequireIdempotentCall]
    public override async Task<DepositReply> Deposit(DepositRequest request, ServerCallContext context)
    {
        var execution = state.Run();
        state.KeysSeen.Enqueue(context.RequestHeaders.GetValue("idempotency-key"));
        state.Entered.TrySetResult();
        if (state.FailuresLeft > 0)
        {
            state.FailuresLeft--;
            throw new RpcException(new Status(StatusCode.Unavailable, "injected fault"));
        }

        await state.Gate.Task;
        await context.WriteResponseHeadersAsync(new Metadata { { "x-ledger-node", "node-a" }, { "x-trace-bin", [1, 2, (byte)execution] } });
        context.ResponseTrailers.Add("x-balance-version", execution.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (request.FailWith == -1)
        {
            throw new InvalidOperationException("The deposit failed unexpectedly.");
        }

        if (request.FailWith != 0)
        {
            throw new RpcException(
                new Status((StatusCode)request.FailWith, $"deposit failed in execution {execution}"),
                new Metadata { { "x-failure", execution.ToString(System.Globalization.CultureInfo.InvariantCulture) } });
        }

        return new DepositReply { Account = request.Account, Balance = request.Amount, Execution = execution };
    }

    public override Task<DepositReply> Balance(DepositRequest request, ServerCallContext context) =>
        Task.FromResult(new DepositReply { Account = request.Account, Execution = state.Run() });
}

internal sealed class FeedService : Feed.FeedBase
{
    [RequireIdempotentCall]
    public override Task Watch(DepositRequest request, IServerStreamWriter<DepositReply> responseStream, ServerCallContext context) =>
        responseStream.WriteAsync(new DepositReply { Account = request.Account });
}
