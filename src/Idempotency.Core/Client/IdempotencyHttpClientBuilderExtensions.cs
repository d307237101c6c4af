using Idempotency;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds idempotency keys to <see cref="HttpClient"/>s made by <c>IHttpClientFactory</c>.</summary>
public static class IdempotencyHttpClientBuilderExtensions
{
    /// <summary>
    /// Gives every unsafe request of this client an <c>Idempotency-Key</c> that stays the same on every retry.
    /// The handler is always placed first in the pipeline, outside any resilience or Polly handler, whatever the
    /// order of the calls: only there does every retry and hedged copy carry the same key.
    /// </summary>
    /// <param name="builder">The client builder.</param>
    /// <param name="configure">Configures the handler; <see langword="null"/> keeps the defaults.</param>
    /// <returns>The same builder.</returns>
    public static IHttpClientBuilder AddIdempotencyKeys(this IHttpClientBuilder builder, Action<IdempotencyKeyHandlerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddSingleton(TimeProvider.System);
        var options = new IdempotencyKeyHandlerOptions();
        configure?.Invoke(options);
        ArgumentOutOfRangeException.ThrowIfNegative(options.MaxInFlightRetries, $"{nameof(IdempotencyKeyHandlerOptions)}.{nameof(IdempotencyKeyHandlerOptions.MaxInFlightRetries)}");
        ArgumentException.ThrowIfNullOrWhiteSpace(options.HeaderName, $"{nameof(IdempotencyKeyHandlerOptions)}.{nameof(IdempotencyKeyHandlerOptions.HeaderName)}");

        return builder.ConfigureAdditionalHttpMessageHandlers((handlers, services) =>
        {
            if (handlers.Any(h => h is IdempotencyKeyHandler))
            {
                return;
            }

            handlers.Insert(0, new IdempotencyKeyHandler(options, services.GetRequiredService<TimeProvider>()));
        });
    }
}
