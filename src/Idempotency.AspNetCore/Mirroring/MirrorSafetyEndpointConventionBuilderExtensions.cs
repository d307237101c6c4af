using Idempotency.AspNetCore.Mirroring;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Declares how safely endpoints' requests can be processed twice, as mirrored copies on a canary.</summary>
public static class MirrorSafetyEndpointConventionBuilderExtensions
{
    private static readonly MirrorSafeAttribute s_mirrorSafe = new();
    private static readonly NotMirrorSafeAttribute s_notMirrorSafe = new();
    private static readonly IdempotentByDesignAttribute s_idempotentByDesign = new();

    /// <summary>
    /// Declares that the endpoint changes nothing, whatever its method, so copies may run on any canary.
    /// The same as <see cref="MirrorSafeAttribute"/>.
    /// </summary>
    /// <typeparam name="TBuilder">The endpoint convention builder type.</typeparam>
    /// <param name="builder">The endpoint or group.</param>
    /// <returns>The same builder.</returns>
    public static TBuilder MirrorSafe<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder => builder.WithMirrorSafetyMetadata(s_mirrorSafe);

    /// <summary>
    /// Declares that copies of the endpoint's requests must never run, whatever their method.
    /// The same as <see cref="NotMirrorSafeAttribute"/>.
    /// </summary>
    /// <typeparam name="TBuilder">The endpoint convention builder type.</typeparam>
    /// <param name="builder">The endpoint or group.</param>
    /// <returns>The same builder.</returns>
    public static TBuilder NotMirrorSafe<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder => builder.WithMirrorSafetyMetadata(s_notMirrorSafe);

    /// <summary>
    /// Declares that processing a request twice has the effect of processing it once, whatever its method, so copies
    /// may run on a canary with isolated data. The same as <see cref="IdempotentByDesignAttribute"/>.
    /// </summary>
    /// <typeparam name="TBuilder">The endpoint convention builder type.</typeparam>
    /// <param name="builder">The endpoint or group.</param>
    /// <returns>The same builder.</returns>
    public static TBuilder IdempotentByDesign<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder => builder.WithMirrorSafetyMetadata(s_idempotentByDesign);

    private static TBuilder WithMirrorSafetyMetadata<TBuilder>(this TBuilder builder, IMirrorSafetyMetadata metadata)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Add(endpoint => endpoint.Metadata.Add(metadata));
        return builder;
    }
}
