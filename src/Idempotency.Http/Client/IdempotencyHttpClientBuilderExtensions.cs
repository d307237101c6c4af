using Idempotency;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds idempotency keys to <see cref="HttpClient"/>s made by <c>IHttpClientFactory</c>.</summary>
public static class IdempotencyHttpClientBuilderExtensions
{
    /// <summary>
    /// Gives every unsafe request of this client an <c>Idempotency-Key</c> that stays the same on every retry.
    /// The handler is always placed first in the pipeline, outside any resilience or Polly handler, whatever the
    /// order of the calls: only there does every retry and hedged copy carry the same key. Calling it again on the same
    /// client keeps the first call's options.
    /// </summary>
    /// <remarks>
    /// Do not also add an <see cref="IdempotencyKeyHandler"/> by hand with <c>AddHttpMessageHandler</c>: one found after
    /// another handler makes creating the client throw an <see cref="InvalidOperationException"/>.
    /// </remarks>
    /// <param name="builder">The client builder.</param>
    /// <param name="configure">Configures the handler; <see langword="null"/> keeps the defaults.</param>
    /// <returns>The same builder.</returns>
    /// <exception cref="ArgumentOutOfRangeException">
    /// <see cref="IdempotencyKeyHandlerOptions.MaxInFlightRetries"/>, <see cref="IdempotencyKeyHandlerOptions.MaxRetryAfter"/> or
    /// <see cref="IdempotencyKeyHandlerOptions.MaxResendBufferSize"/> is negative.
    /// </exception>
    /// <exception cref="ArgumentException"><see cref="IdempotencyKeyHandlerOptions.HeaderName"/> is empty or not a valid HTTP header name.</exception>
    public static IHttpClientBuilder AddIdempotencyKeys(this IHttpClientBuilder builder, Action<IdempotencyKeyHandlerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddSingleton(TimeProvider.System);
        var options = new IdempotencyKeyHandlerOptions();
        configure?.Invoke(options);
        IdempotencyKeyHandler.ThrowIfInvalid(options);

        var clientName = builder.Name;
        return builder.ConfigureAdditionalHttpMessageHandlers((handlers, services) =>
        {
            for (var i = 0; i < handlers.Count; i++)
            {
                if (handlers[i] is not IdempotencyKeyHandler)
                {
                    continue;
                }

                if (i == 0)
                {
                    // Already first: an earlier AddIdempotencyKeys() call on this client, whose options stay.
                    return;
                }

                // Inside a hedging handler a hand-placed key handler gives each hedged copy its own key, so the
                // server runs the operation once per copy: refuse it rather than keep it silently.
                throw new InvalidOperationException(
                    $"The HttpClient '{clientName}' has an IdempotencyKeyHandler added by hand at position {i} of its handlers, after " +
                    $"{handlers[0].GetType().Name}. Inside a retry or hedging handler it can give each attempt its own key. " +
                    "Remove the AddHttpMessageHandler call that adds it: AddIdempotencyKeys() always places the handler first.");
            }

            handlers.Insert(0, new IdempotencyKeyHandler(options, services.GetRequiredService<TimeProvider>()));
        });
    }
}
