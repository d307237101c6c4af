using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;

namespace Idempotency.Redis.Tests.Infrastructure;

/// <summary>
/// A service provider set up the way an application would (<c>AddIdempotentExecutor().AddRedisStore(...)</c>), started
/// the way the generic host starts one: options validated, hosted services started. Logs go to a fake collector.
/// </summary>
public sealed class RedisStoreHost : IAsyncDisposable
{
    private readonly ServiceProvider _provider;

    private RedisStoreHost(ServiceProvider provider)
    {
        _provider = provider;
    }

    public IServiceProvider Services => _provider;

    public IIdempotencyStore Store => _provider.GetRequiredService<IIdempotencyStore>();

    public IdempotentExecutor Executor => _provider.GetRequiredService<IdempotentExecutor>();

    public FakeLogCollector Logs => _provider.GetFakeLogCollector();

    /// <summary>Builds the provider without starting it.</summary>
    public static RedisStoreHost Create(Action<IIdempotencyBuilder> addStore, Action<IServiceCollection>? services = null)
    {
        var collection = new ServiceCollection();
        collection.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Debug).AddFakeLogging());
        services?.Invoke(collection);
        addStore(collection.AddIdempotentExecutor());
        return new RedisStoreHost(collection.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true }));
    }

    /// <summary>Builds and starts the provider as the generic host would.</summary>
    public static async Task<RedisStoreHost> StartAsync(Action<IIdempotencyBuilder> addStore, Action<IServiceCollection>? services = null)
    {
        var host = Create(addStore, services);
        try
        {
            await host.StartAsync();
            return host;
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
    }

    /// <summary>Validates options (ValidateOnStart) and starts the hosted services, as the generic host does.</summary>
    public async Task StartAsync()
    {
        _provider.GetRequiredService<IStartupValidator>().Validate();
        foreach (var service in _provider.GetServices<IHostedService>())
        {
            await service.StartAsync(CancellationToken.None);
        }
    }

    public IReadOnlyList<FakeLogRecord> LogsWithId(int eventId) => Logs.GetSnapshot().Where(r => r.Id.Id == eventId).ToList();

    public ValueTask DisposeAsync() => _provider.DisposeAsync();
}
