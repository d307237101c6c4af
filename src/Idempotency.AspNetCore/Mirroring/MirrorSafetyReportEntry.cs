using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Routing.Patterns;

namespace Idempotency.AspNetCore.Mirroring;

/// <summary>One endpoint (or the methods of one endpoint that share a class) in a <see cref="MirrorSafetyReport"/>.</summary>
public sealed class MirrorSafetyReportEntry
{
    internal MirrorSafetyReportEntry(RoutePattern pattern, string route, string? displayName, IReadOnlyList<string> methods, MirrorClassification classification)
    {
        Pattern = pattern;
        Route = route;
        DisplayName = displayName;
        Methods = methods;
        Classification = classification;
    }

    /// <summary>Gets the HTTP methods, or <c>["*"]</c> (<see cref="MirrorSafety.AnyMethod"/>) for an endpoint that accepts every method.</summary>
    public IReadOnlyList<string> Methods { get; }

    /// <summary>Gets the route pattern, such as <c>/accounts/{id:long}</c>.</summary>
    public string Route { get; }

    /// <summary>Gets the endpoint's display name.</summary>
    public string? DisplayName { get; }

    /// <summary>Gets the class.</summary>
    public MirrorSafetyClass Class => Classification.Class;

    /// <summary>Gets why the class was chosen.</summary>
    public MirrorSafetyReason Reason => Classification.Reason;

    /// <summary>Gets a sentence that explains <see cref="Reason"/>.</summary>
    public string Description => Classification.Description;

    /// <summary>Gets what a request must carry for <see cref="Class"/> to hold; requests without it are unsafe.</summary>
    public MirrorRequestCondition Condition => Classification.Condition;

    /// <summary>Gets whether requests may be mirrored to a canary that shares the primary's data.</summary>
    public bool MirrorableWithSharedData => Classification.IsMirrorableWithSharedData;

    /// <summary>Gets whether requests may be mirrored to a canary with its own data (when <see cref="Condition"/> holds).</summary>
    public bool MirrorableWithIsolatedData => Classification.IsMirrorableWithIsolatedData;

    /// <summary>Gets the classification.</summary>
    [JsonIgnore]
    public MirrorClassification Classification { get; }

    [JsonIgnore]
    internal RoutePattern Pattern { get; }
}
