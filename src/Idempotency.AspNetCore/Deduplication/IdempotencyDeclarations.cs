using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Abstractions;

namespace Idempotency.AspNetCore.Deduplication;

/// <summary>
/// Finds the <see cref="IIdempotencyMetadata"/> that governs an endpoint: the one nearest to it. For an endpoint of
/// minimal APIs that is the last one added (a group's conventions come before the endpoint's own). For a controller
/// action it is the action's own attribute, then its controller's: MVC adds the conventions of <c>MapControllers()</c>
/// after both, and the last one added would let an application-wide <c>.EnableIdempotency()</c> turn an action's
/// <c>[RequireIdempotency]</c> into an optional key.
/// </summary>
internal static class IdempotencyDeclarations
{
    /// <summary>The declaration nearest to the endpoint, or <see langword="null"/> when it has none.</summary>
    /// <param name="metadata">The endpoint's metadata.</param>
    public static IIdempotencyMetadata? Nearest(EndpointMetadataCollection metadata)
    {
        var declared = metadata.GetOrderedMetadata<IIdempotencyMetadata>();
        if (declared.Count <= 1)
        {
            return declared.Count == 0 ? null : declared[0]; // the common case: nothing to choose between
        }

        // A controller action's attributes, the controller's first and the action's last, without the conventions.
        if (metadata.GetMetadata<ActionDescriptor>() is { EndpointMetadata: { } attributes })
        {
            for (var i = attributes.Count - 1; i >= 0; i--)
            {
                if (attributes[i] is IIdempotencyMetadata own)
                {
                    return own;
                }
            }
        }

        return declared[^1];
    }
}
