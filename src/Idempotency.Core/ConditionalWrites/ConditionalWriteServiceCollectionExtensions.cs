using Idempotency;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers stores for conditional writes (compare-and-set records and append-if-last streams).</summary>
public static class ConditionalWriteServiceCollectionExtensions
{
    /// <summary>
    /// Registers in-memory <see cref="IVersionedRecordStore"/> and <see cref="IAppendOnlyStreamStore"/> singletons, unless
    /// others are registered. They keep everything in process memory until it ends: for tests and single-instance
    /// services. Safe to call more than once.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <returns>The same service collection.</returns>
    public static IServiceCollection AddInMemoryConditionalWrites(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton<IVersionedRecordStore, InMemoryVersionedRecordStore>();
        services.TryAddSingleton<IAppendOnlyStreamStore, InMemoryAppendOnlyStreamStore>();
        return services;
    }
}
