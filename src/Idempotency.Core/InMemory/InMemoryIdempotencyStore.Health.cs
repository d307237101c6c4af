using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Idempotency;

/// <summary>
/// The store's health (<c>AddHealthChecks().AddIdempotencyStore()</c>): Healthy while it has room, Degraded once its
/// fill level passes <see cref="InMemoryIdempotencyStoreOptions.DegradedFillLevel"/>, because a full store shortens
/// the dedup window or refuses new keys.
/// </summary>
internal sealed partial class InMemoryIdempotencyStore : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        int records;
        long bytes;
        lock (_lock)
        {
            records = _count;
            bytes = _bytes;
        }

        var fill = Math.Max((double)records / _options.MaxEntries, (double)bytes / _options.MaxBytes);
        var data = new Dictionary<string, object>
        {
            ["records"] = records,
            ["bytes"] = bytes,
            ["maxEntries"] = _options.MaxEntries,
            ["maxBytes"] = _options.MaxBytes,
            ["fillLevel"] = fill,
        };
        var description = string.Create(
            CultureInfo.InvariantCulture,
            $"The in-memory idempotency store is {fill:P0} full ({records} of {_options.MaxEntries} records, {bytes} of {_options.MaxBytes} bytes).");
        return Task.FromResult(fill > _options.DegradedFillLevel
            ? HealthCheckResult.Degraded(
                description + string.Create(CultureInfo.InvariantCulture, $" Above {_options.DegradedFillLevel:P0} (DegradedFillLevel): when full it ") +
                (_options.WhenFull == InMemoryStoreFullBehavior.RefuseNewClaims ? "refuses new keys." : "evicts completed records early, shortening the dedup window."),
                data: data)
            : HealthCheckResult.Healthy(description, data));
    }
}
