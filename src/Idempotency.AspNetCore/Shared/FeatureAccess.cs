using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Http.Features;

namespace Idempotency.AspNetCore;

/// <summary>
/// Reads and replaces request features through <see cref="IFeatureCollection"/>'s indexer. Same semantics as
/// <see cref="IFeatureCollection.Get{TFeature}"/> and <see cref="IFeatureCollection.Set{TFeature}"/>, without their
/// generic virtual dispatch, which the runtime resolves through a lookup on every call: the keyed request path makes
/// several of these calls on every request.
/// </summary>
internal static class FeatureAccess
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TFeature? Get<TFeature>(IFeatureCollection features)
        where TFeature : class => (TFeature?)features[typeof(TFeature)];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Set<TFeature>(IFeatureCollection features, TFeature? feature)
        where TFeature : class => features[typeof(TFeature)] = feature;
}
