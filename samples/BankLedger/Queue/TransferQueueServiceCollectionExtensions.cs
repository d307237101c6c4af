using BankLedger.Storage;

namespace BankLedger.Queue;

/// <summary>Registers the transfer queue and, when <c>TransferQueue:Enabled</c> is true, its worker.</summary>
public static class TransferQueueServiceCollectionExtensions
{
    /// <summary>
    /// In postgres mode: the queue (<see cref="TransferQueue"/>, its tables created with the ledger's) and, if enabled,
    /// <see cref="TransferQueueWorker"/> with the <see cref="Idempotency.IdempotentExecutor"/> it runs commands through.
    /// The worker in another mode stops the service at start-up: it needs the ledger and the records in one database.
    /// </summary>
    public static IServiceCollection AddTransferQueue(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration.GetSection(TransferQueueOptions.Section);
        services.AddOptions<TransferQueueOptions>().Bind(section).ValidateDataAnnotations().ValidateOnStart();
        var enabled = section.GetValue<bool>(nameof(TransferQueueOptions.Enabled));
        if (LedgerStorageExtensions.ReadMode(configuration[LedgerStorageExtensions.StoreKey]) != LedgerStoreMode.Postgres)
        {
            return enabled
                ? throw new InvalidOperationException(
                    $"{TransferQueueOptions.Section}:Enabled is true, but {LedgerStorageExtensions.StoreKey} is not postgres: the worker applies each " +
                    "command exactly once by committing the ledger change, the idempotency record and the queue row's deletion in one PostgreSQL " +
                    $"transaction. Set {LedgerStorageExtensions.StoreKey}=postgres, or turn the worker off.")
                : services;
        }

        services.AddSingleton<TransferQueue>();
        services.AddIdempotentExecutor();
        if (enabled)
        {
            services.AddHostedService<TransferQueueWorker>();
        }

        return services;
    }
}
