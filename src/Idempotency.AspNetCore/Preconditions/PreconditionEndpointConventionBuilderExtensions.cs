using Idempotency.AspNetCore.Preconditions;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Makes endpoints and route groups accept only conditional writes.</summary>
public static class PreconditionEndpointConventionBuilderExtensions
{
    private static readonly RequirePreconditionAttribute s_required = new();

    /// <summary>
    /// Accepts only conditional writes: an unsafe request (POST, PUT, PATCH, DELETE...) without <c>If-Match</c> or
    /// <c>If-None-Match</c> gets 428 Precondition Required, and one whose header is not a valid entity tag list gets
    /// 400, before the handler runs. Reads pass through. Enforced by <c>app.UsePreconditions()</c>; the same as
    /// <see cref="RequirePreconditionAttribute"/>.
    /// </summary>
    /// <typeparam name="TBuilder">The endpoint convention builder type.</typeparam>
    /// <param name="builder">The endpoint or group.</param>
    /// <returns>The same builder.</returns>
    public static TBuilder RequirePrecondition<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Add(endpoint => endpoint.Metadata.Add(s_required));
        return builder;
    }
}
