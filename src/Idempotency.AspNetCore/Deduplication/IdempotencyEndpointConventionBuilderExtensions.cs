using Idempotency.AspNetCore.Deduplication;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Opts endpoints and route groups in to or out of request deduplication.</summary>
public static class IdempotencyEndpointConventionBuilderExtensions
{
    private static readonly RequireIdempotencyAttribute s_required = new();
    private static readonly EnableIdempotencyAttribute s_optional = new();
    private static readonly DisableIdempotencyAttribute s_disabled = new();

    /// <summary>
    /// Requires an <c>Idempotency-Key</c>: each keyed request runs once and its response is replayed to every retry;
    /// a request without a key gets 400. The same as <see cref="RequireIdempotencyAttribute"/>.
    /// </summary>
    /// <typeparam name="TBuilder">The endpoint convention builder type.</typeparam>
    /// <param name="builder">The endpoint or group.</param>
    /// <returns>The same builder.</returns>
    public static TBuilder RequireIdempotency<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder => builder.WithIdempotencyMetadata(s_required);

    /// <summary>
    /// Requires an <c>Idempotency-Key</c>, as <see cref="RequireIdempotency{TBuilder}(TBuilder)"/> does, with the settings of
    /// the named <see cref="IdempotencyPolicy"/> over the global ones. The same as
    /// <c>[RequireIdempotency(PolicyName = "name")]</c>. A name that is not registered fails the host at start-up.
    /// </summary>
    /// <typeparam name="TBuilder">The endpoint convention builder type.</typeparam>
    /// <param name="builder">The endpoint or group.</param>
    /// <param name="policyName">The policy's name, registered with <see cref="IdempotencyOptions.AddPolicy"/>.</param>
    /// <returns>The same builder.</returns>
    public static TBuilder RequireIdempotency<TBuilder>(this TBuilder builder, string policyName)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(policyName);
        return builder.WithIdempotencyMetadata(new RequireIdempotencyAttribute { PolicyName = policyName });
    }

    /// <summary>
    /// Honours an <c>Idempotency-Key</c> when the client sends one; requests without a key run as usual.
    /// The same as <see cref="EnableIdempotencyAttribute"/>.
    /// </summary>
    /// <typeparam name="TBuilder">The endpoint convention builder type.</typeparam>
    /// <param name="builder">The endpoint or group.</param>
    /// <returns>The same builder.</returns>
    public static TBuilder EnableIdempotency<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder => builder.WithIdempotencyMetadata(s_optional);

    /// <summary>
    /// Honours an <c>Idempotency-Key</c>, as <see cref="EnableIdempotency{TBuilder}(TBuilder)"/> does, with the settings of
    /// the named <see cref="IdempotencyPolicy"/> over the global ones. The same as
    /// <c>[EnableIdempotency(PolicyName = "name")]</c>. A name that is not registered fails the host at start-up.
    /// </summary>
    /// <typeparam name="TBuilder">The endpoint convention builder type.</typeparam>
    /// <param name="builder">The endpoint or group.</param>
    /// <param name="policyName">The policy's name, registered with <see cref="IdempotencyOptions.AddPolicy"/>.</param>
    /// <returns>The same builder.</returns>
    public static TBuilder EnableIdempotency<TBuilder>(this TBuilder builder, string policyName)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(policyName);
        return builder.WithIdempotencyMetadata(new EnableIdempotencyAttribute { PolicyName = policyName });
    }

    /// <summary>
    /// Ignores any <c>Idempotency-Key</c>, overriding a requirement set on the group.
    /// The same as <see cref="DisableIdempotencyAttribute"/>.
    /// </summary>
    /// <typeparam name="TBuilder">The endpoint convention builder type.</typeparam>
    /// <param name="builder">The endpoint or group.</param>
    /// <returns>The same builder.</returns>
    public static TBuilder DisableIdempotency<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder => builder.WithIdempotencyMetadata(s_disabled);

    private static TBuilder WithIdempotencyMetadata<TBuilder>(this TBuilder builder, IIdempotencyMetadata metadata)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Add(endpoint => endpoint.Metadata.Add(metadata));
        return builder;
    }
}
