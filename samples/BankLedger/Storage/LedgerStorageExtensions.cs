using BankLedger.Ledger;
using BankLedger.Ledger.EfCore;
using Idempotency;
using Npgsql;

namespace BankLedger.Storage;

/// <summary>Reads <c>Idempotency:Store</c> and wires the idempotency store and the ledger to match.</summary>
public static class LedgerStorageExtensions
{
    public const string StoreKey = "Idempotency:Store";

    /// <summary>
    /// <c>memory</c> (the default): keys and ledger in memory. <c>redis</c>: keys in Redis at
    /// <c>ConnectionStrings:Redis</c>, ledger in memory. <c>postgres</c>: keys and ledger in PostgreSQL at
    /// <c>ConnectionStrings:Postgres</c>, tables created at start-up. <c>efcore</c>: the same, with the ledger on EF Core
    /// (<c>LedgerDbContext</c>) and keyed writes in the EF Core transactional mode. A missing connection string or an unknown mode
    /// stops the service at start-up with a message that says what to set.
    /// </summary>
    public static IIdempotencyBuilder AddLedgerStore(this IIdempotencyBuilder idempotency, IConfiguration configuration)
    {
        var services = idempotency.Services;
        var mode = ReadMode(configuration[StoreKey]);
        services.AddSingleton(new LedgerStorage(mode));
        switch (mode)
        {
            case LedgerStoreMode.Redis:
                idempotency.AddRedisStore(ConnectionString(configuration, "Redis", "localhost:6379"), options => options.KeyPrefix = "bankledger:idempotency:");
                services.AddSingleton<ILedger, InMemoryLedger>();
                break;

            case LedgerStoreMode.Postgres or LedgerStoreMode.EfCore:
                var connectionString = ConnectionString(configuration, "Postgres", "Host=localhost;Username=postgres;Password=...;Database=bankledger");

                // One data source for the key store, the conditional writes and the ledger: the transactional mode's
                // transaction is a connection of it, and the ledger writes through that transaction.
                services.AddSingleton(_ => NpgsqlDataSource.Create(connectionString));
                idempotency.AddPostgreSqlStore(options => options.CreateSchemaOnStartup = true);
                services.AddPostgreSqlConditionalWrites(options => options.CreateSchemaOnStartup = true);
                services.AddHostedService<PostgreSqlLedgerSchema>();
                services.AddScoped<ILedger, PostgreSqlLedger>();
                if (mode == LedgerStoreMode.EfCore)
                {
                    idempotency.AddEfCoreLedger(); // the same tables, through LedgerDbContext; replaces the ledger above
                }

                break;

            default:
                services.AddSingleton<ILedger, InMemoryLedger>();
                break;
        }

        return idempotency;
    }

    /// <summary>
    /// Runs the endpoint's keyed requests in the PostgreSQL (or, in efcore mode, the EF Core) transactional mode when the ledger lives in PostgreSQL:
    /// the ledger write, the key and the stored response then commit together, or none of them does.
    /// </summary>
    public static TBuilder WithLedgerTransaction<TBuilder>(this TBuilder builder, LedgerStorage storage)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(storage);
        return storage.Mode switch
        {
            LedgerStoreMode.Postgres => builder.WithPostgreSqlTransaction(),
            LedgerStoreMode.EfCore => builder.WithEntityFrameworkCoreTransaction(),
            _ => builder,
        };
    }

    internal static LedgerStoreMode ReadMode(string? value) => value?.Trim() switch
    {
        null or "" => LedgerStoreMode.Memory,
        var v when v.Equals("memory", StringComparison.OrdinalIgnoreCase) => LedgerStoreMode.Memory,
        var v when v.Equals("redis", StringComparison.OrdinalIgnoreCase) => LedgerStoreMode.Redis,
        var v when v.Equals("postgres", StringComparison.OrdinalIgnoreCase) || v.Equals("postgresql", StringComparison.OrdinalIgnoreCase) => LedgerStoreMode.Postgres,
        var v when v.Equals("efcore", StringComparison.OrdinalIgnoreCase) => LedgerStoreMode.EfCore,
        _ => throw new InvalidOperationException($"{StoreKey} is '{value}'; use memory (the default), redis, postgres or efcore."),
    };

    private static string ConnectionString(IConfiguration configuration, string name, string example) =>
        configuration.GetConnectionString(name) is { Length: > 0 } connectionString
            ? connectionString
            : throw new InvalidOperationException(
                $"{StoreKey} is {configuration[StoreKey]?.Trim().ToLowerInvariant()}, but ConnectionStrings:{name} is not set. Set it, for example with the environment variable " +
                $"ConnectionStrings__{name}=\"{example}\".");
}
