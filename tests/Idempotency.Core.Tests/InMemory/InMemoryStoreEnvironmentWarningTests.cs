using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Idempotency.Core.Tests.InMemory;

/// <summary>The start-up warning that the in-memory store protects one process only, outside Development.</summary>
public sealed class InMemoryStoreEnvironmentWarningTests
{
    private const int WarningId = 500;

    [Theory]
    [InlineData("Production")]
    [InlineData("Staging")]
    public async Task Startup_LogsAWarning_WhenTheInMemoryStoreRunsOutsideDevelopment(string environment)
    {
        var logs = await StartAsync(environment, idempotency => { });

        var warning = Assert.Single(logs, r => r.Id.Id == WarningId);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Equal("InMemoryStoreOutsideDevelopment", warning.Id.Name);
        Assert.Contains($"in the {environment} environment", warning.Message, StringComparison.Ordinal);
        Assert.Contains("WarnOutsideDevelopment", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Startup_LogsNoWarning_InDevelopment()
    {
        var logs = await StartAsync(Environments.Development, idempotency => { });

        Assert.DoesNotContain(logs, r => r.Id.Id == WarningId);
    }

    [Fact]
    public async Task Startup_LogsNoWarning_WhenSilenced()
    {
        var logs = await StartAsync(Environments.Production, idempotency => idempotency.AddInMemoryStore(o => o.WarnOutsideDevelopment = false));

        Assert.DoesNotContain(logs, r => r.Id.Id == WarningId);
    }

    [Fact]
    public async Task Startup_LogsNoWarning_WhenAnotherStoreIsRegistered()
    {
        var logs = await StartAsync(Environments.Production, idempotency => idempotency.UseStore<OtherStore>());

        Assert.DoesNotContain(logs, r => r.Id.Id == WarningId);
    }

    [Fact]
    public async Task Startup_LogsNoWarning_AndDoesNotThrow_WhenAnotherStoreIsRegisteredScoped()
    {
        var logs = await StartAsync(
            Environments.Production,
            idempotency => idempotency.Services.AddScoped<IIdempotencyStore, OtherStore>());

        Assert.DoesNotContain(logs, r => r.Id.Id == WarningId);
    }

    private static async Task<IReadOnlyList<FakeLogRecord>> StartAsync(string environment, Action<IIdempotencyBuilder> configure)
    {
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.AddFakeLogging());
        services.AddSingleton<IHostEnvironment>(new Environment(environment));
        configure(services.AddIdempotentExecutor());
        await using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateScopes = true });
        foreach (var hosted in provider.GetServices<IHostedService>())
        {
            await hosted.StartAsync(CancellationToken.None);
        }

        return provider.GetFakeLogCollector().GetSnapshot();
    }

    private sealed class Environment(string name) : IHostEnvironment
    {
        public string EnvironmentName { get; set; } = name;

        public string ApplicationName { get; set; } = "tests";

        public string ContentRootPath { get; set; } = AppContext.BaseDirectory;

        public IFileProvider ContentRootFileProvider { get; set; } = new NullFileProvider();
    }

    private sealed class OtherStore : IIdempotencyStore
    {
        public ValueTask<IdempotencyClaimResult> ClaimAsync(IdempotencyClaimRequest request, CancellationToken cancellationToken) => throw new NotSupportedException();

        public ValueTask<CompletionStatus> CompleteAsync(IdempotencyCompleteRequest request, CancellationToken cancellationToken) => throw new NotSupportedException();

        public ValueTask<bool> ReleaseAsync(string key, string ownerToken, CancellationToken cancellationToken) => throw new NotSupportedException();
    }
}
