using System.Net;
using BankLedger.Ledger;
using Idempotency.AspNetCore.Mirroring;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Idempotency.Chaos.Tests.Fuzz;

/// <summary>
/// The BankLedger sample, unchanged, on real Kestrel at 127.0.0.1 (any free port), with its idempotency store and its
/// ledger wrapped in counters, in the Production environment and with logging off. <paramref name="settings"/> override
/// its configuration (the mirroring role, the store mode).
/// </summary>
/// <remarks>
/// In postgres mode every keyed endpoint runs in the transactional mode, whose per-request store the middleware takes
/// from endpoint metadata rather than from the container: the store counters then see no claim, and
/// <see cref="CountsClaims"/> is false.
/// </remarks>
internal sealed class BankLedgerServer(IReadOnlyDictionary<string, string> settings) : WebApplicationFactory<global::Program>
{
    public FuzzCounters Counters { get; } = new();

    public int Port { get; private set; }

    /// <summary>Gets whether every claim goes through the counted <see cref="IIdempotencyStore"/> (not in postgres mode).</summary>
    public bool CountsClaims => !settings.TryGetValue("Idempotency:Store", out var store) || !store.StartsWith("postgres", StringComparison.OrdinalIgnoreCase);

    /// <summary>Gets the name of the marker header that marks a mirrored copy, as the app is configured.</summary>
    public string MarkerHeader => Services.GetRequiredService<IOptions<MirroringOptions>>().Value.HeaderName;

    public static BankLedgerServer Start(IReadOnlyDictionary<string, string>? settings = null)
    {
        var server = new BankLedgerServer(settings ?? new Dictionary<string, string>());
        server.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        server.StartServer();
        var address = server.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        server.Port = new Uri(address).Port;
        return server;
    }

    /// <summary>Every endpoint the app maps, read from its routing, with the methods it accepts and the body type it binds.</summary>
    public IReadOnlyList<SampleEndpoint> DiscoverEndpoints() =>
        SampleEndpoint.Discover(Services.GetRequiredService<EndpointDataSource>());

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        // As deployed: Production (no developer exception page; bad request bodies answer 400 instead of throwing).
        builder.UseEnvironment("Production");
        builder.ConfigureLogging(logging => logging.ClearProviders());
        foreach (var (name, value) in settings)
        {
            builder.UseSetting(name, value);
        }

        builder.ConfigureTestServices(services =>
        {
            services.AddSingleton(Counters);
            var store = services.Last(d => d.ServiceType == typeof(IIdempotencyStore));
            services.Remove(store);
            services.AddSingleton<IIdempotencyStore>(provider => new CountingStore(Create<IIdempotencyStore>(provider, store), Counters));

            // The PostgreSQL ledger is scoped (it writes through the request's transaction): keep each ledger's lifetime.
            var ledger = services.Last(d => d.ServiceType == typeof(ILedger));
            services.Remove(ledger);
            services.Add(ServiceDescriptor.Describe(typeof(ILedger), provider => new CountingLedger(Create<ILedger>(provider, ledger), Counters), ledger.Lifetime));
        });
    }

    private static T Create<T>(IServiceProvider provider, ServiceDescriptor descriptor) => (T)(
        descriptor.ImplementationInstance
        ?? descriptor.ImplementationFactory?.Invoke(provider)
        ?? ActivatorUtilities.CreateInstance(provider, descriptor.ImplementationType!));
}
