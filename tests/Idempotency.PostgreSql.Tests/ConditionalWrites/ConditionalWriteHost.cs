using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Idempotency.PostgreSql.Tests.ConditionalWrites;

/// <summary>
/// A service provider with <c>AddPostgreSqlConditionalWrites(...)</c> over tables of its own (created through the
/// stores' schema initializer, as the host does at start-up), options validated as the generic host validates them.
/// </summary>
internal sealed class ConditionalWriteHost : IAsyncDisposable
{
    private readonly ServiceProvider _provider;

    private ConditionalWriteHost(ServiceProvider provider, PostgreSqlConditionalWriteOptions options)
    {
        _provider = provider;
        Options = options;
    }

    public IServiceProvider Services => _provider;

    public PostgreSqlConditionalWriteOptions Options { get; }

    public PostgreSqlVersionedRecordStore Records => _provider.GetRequiredService<PostgreSqlVersionedRecordStore>();

    public PostgreSqlAppendOnlyStreamStore Streams => _provider.GetRequiredService<PostgreSqlAppendOnlyStreamStore>();

    public string RecordsTable => $"\"{Options.Schema}\".\"{Options.RecordsTableName}\"";

    public string StreamEntriesTable => $"\"{Options.Schema}\".\"{Options.StreamEntriesTableName}\"";

    /// <summary>Starts the stores over new tables in <paramref name="dataSource"/>'s database.</summary>
    public static async Task<ConditionalWriteHost> StartAsync(NpgsqlDataSource dataSource, Action<PostgreSqlConditionalWriteOptions>? configure = null)
    {
        var suffix = Guid.NewGuid().ToString("N")[..16];
        var services = new ServiceCollection().AddLogging();
        services.AddPostgreSqlConditionalWrites(dataSource, options =>
        {
            options.RecordsTableName = "records_" + suffix;
            options.StreamEntriesTableName = "entries_" + suffix;
            options.CreateSchemaOnStartup = true;
            configure?.Invoke(options);
        });
        var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        try
        {
            provider.GetRequiredService<IStartupValidator>().Validate();
            foreach (var hostedService in provider.GetServices<IHostedService>())
            {
                await hostedService.StartAsync(default);
            }

            return new ConditionalWriteHost(provider, provider.GetRequiredService<IOptions<PostgreSqlConditionalWriteOptions>>().Value);
        }
        catch
        {
            await provider.DisposeAsync();
            throw;
        }
    }

    public ValueTask DisposeAsync() => _provider.DisposeAsync();
}
