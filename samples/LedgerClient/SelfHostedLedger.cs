using BankLedger;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace LedgerClient;

/// <summary>The sample BankLedger service with the in-memory store, started in this process on 127.0.0.1 on a free port.</summary>
public sealed class SelfHostedLedger : IAsyncDisposable
{
    /// <summary>The bearer token the self-hosted service accepts.</summary>
    public const string DemoToken = "retry-storm-token";

    private readonly WebApplication _app;

    private SelfHostedLedger(WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
    }

    /// <summary>Gets the service's address, such as <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri BaseAddress { get; }

    /// <summary>Starts the service and returns once it listens.</summary>
    public static async Task<SelfHostedLedger> StartAsync(CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = Environments.Production,
        });
        builder.WebHost.UseUrls("http://127.0.0.1:0"); // loopback only; the port is chosen by the system
        builder.Logging.ClearProviders(); // the service logs every posting: the progress bar is the output here
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Auth:Tokens:" + DemoToken] = "retry-storm",
            ["Idempotency:Store"] = "memory",
            ["Mirroring:Role"] = "Primary",
        });

        var app = BankLedgerApp.Build(builder);
        await app.StartAsync(cancellationToken);
        return new SelfHostedLedger(app, new Uri(app.Urls.Single().TrimEnd('/') + "/"));
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _app.DisposeAsync();
}
