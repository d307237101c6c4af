using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Idempotency.Redis.Tests.ConditionalWrites;

/// <summary>
/// A service provider with the application's multiplexer and <c>AddRedisConditionalWrites()</c>, options validated
/// as the generic host validates them at start-up, and hosted services started as it starts them. Logs go to a fake
/// collector.
/// </summary>
public sealed class RedisConditionalWriteHost : IAsyncDisposable
{
    private readonly ServiceProvider _provider;
    private readonly ConnectionMultiplexer _multiplexer;

    private RedisConditionalWriteHost(ServiceProvider provider, ConnectionMultiplexer multiplexer)
    {
        _provider = provider;
        _multiplexer = multiplexer;
    }

    public IServiceProvider Services => _provider;

    public IVersionedRecordStore Records => _provider.GetRequiredService<IVersionedRecordStore>();

    public IAppendOnlyStreamStore Streams => _provider.GetRequiredService<IAppendOnlyStreamStore>();

    public FakeLogCollector Logs => _provider.GetFakeLogCollector();

    public IReadOnlyList<FakeLogRecord> LogsWithId(int eventId) => Logs.GetSnapshot().Where(r => r.Id.Id == eventId).ToList();

    public static async Task<RedisConditionalWriteHost> StartAsync(string connectionString, Action<RedisConditionalWriteOptions>? configure = null)
    {
        var multiplexer = await ConnectionMultiplexer.ConnectAsync(connectionString);
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Debug).AddFakeLogging());
        services.AddSingleton<IConnectionMultiplexer>(multiplexer);
        services.AddRedisConditionalWrites(configure);
        var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        try
        {
            provider.GetRequiredService<IStartupValidator>().Validate();
            foreach (var service in provider.GetServices<IHostedService>())
            {
                await service.StartAsync(CancellationToken.None);
            }

            return new RedisConditionalWriteHost(provider, multiplexer);
        }
        catch
        {
            await provider.DisposeAsync();
            await multiplexer.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _provider.DisposeAsync();
        await _multiplexer.DisposeAsync();
    }
}
