using System.Net.Http.Headers;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace BankLedger.Tests.Infrastructure;

/// <summary>Starts the sample in a store mode, the way an operator would: through configuration only.</summary>
internal static class SampleApp
{
    /// <summary>The sample with <c>Idempotency:Store=postgres</c> over <paramref name="connectionString"/>.</summary>
    public static WebApplicationFactory<Program> Postgres(string connectionString, Action<IServiceCollection>? configureServices = null) =>
        Create(new() { ["Idempotency:Store"] = "postgres", ["ConnectionStrings:Postgres"] = connectionString }, configureServices);

    /// <summary>The sample with <c>Idempotency:Store=efcore</c> (the ledger on EF Core) over <paramref name="connectionString"/>.</summary>
    public static WebApplicationFactory<Program> EfCore(string connectionString, Action<IServiceCollection>? configureServices = null) =>
        Create(new() { ["Idempotency:Store"] = "efcore", ["ConnectionStrings:Postgres"] = connectionString }, configureServices);

    /// <summary>The sample with <c>Idempotency:Store=redis</c> over <paramref name="connectionString"/>.</summary>
    public static WebApplicationFactory<Program> Redis(string connectionString) =>
        Create(new() { ["Idempotency:Store"] = "redis", ["ConnectionStrings:Redis"] = connectionString });

    /// <summary>The sample with the given settings, each as <c>UseSetting</c> (what environment variables would set).</summary>
    public static WebApplicationFactory<Program> Create(Dictionary<string, string?> settings, Action<IServiceCollection>? configureServices = null) =>
        new WebApplicationFactory<Program>().WithWebHostBuilder(builder =>
        {
            foreach (var (key, value) in settings)
            {
                builder.UseSetting(key, value);
            }

            if (configureServices is not null)
            {
                builder.ConfigureTestServices(configureServices);
            }
        });

    public static HttpClient Client(this WebApplicationFactory<Program> factory, string token)
    {
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }
}
