using System.Net;
using BankLedger.Ledger;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace Idempotency.Chaos.Tests.Fuzz;

/// <summary>
/// The BankLedger sample, unchanged, on real Kestrel at 127.0.0.1 (any free port), with its idempotency store and its
/// ledger wrapped in counters, in the Production environment and with logging off. <paramref name="settings"/> override its configuration (for example the mirroring role).
/// </summary>
internal sealed class BankLedgerServer(IReadOnlyDictionary<string, string> settings) : WebApplicationFactory<global::Program>
{
    public FuzzCounters Counters { get; } = new();

    public int Port { get; private set; }

    public static BankLedgerServer Start(IReadOnlyDictionary<string, string>? settings = null)
    {
        var server = new BankLedgerServer(settings ?? new Dictionary<string, string>());
        server.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        server.StartServer();
        var address = server.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        server.Port = new Uri(address).Port;
        return server;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        // As deployed: Production (no developer exception page; bad request bodies answer 400 instead of throwing).
        builder.UseEnvironment("Production");
        builder.UseSetting("Logging:LogLevel:Default", "None");
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
            var ledger = services.Last(d => d.ServiceType == typeof(ILedger));
            services.Remove(ledger);
            services.AddSingleton<ILedger>(provider => new CountingLedger(Create<ILedger>(provider, ledger), Counters));
        });
    }

    private static T Create<T>(IServiceProvider provider, ServiceDescriptor descriptor) => (T)(
        descriptor.ImplementationInstance
        ?? descriptor.ImplementationFactory?.Invoke(provider)
        ?? ActivatorUtilities.CreateInstance(provider, descriptor.ImplementationType!));
}
