namespace Idempotency.AspNetCore.Mirroring;

/// <summary>
/// The mirror-safety class of an endpoint or a request, the reason for it, and whether a copy may be sent to a canary.
/// </summary>
public readonly record struct MirrorClassification
{
    /// <summary>Initializes a new instance of the <see cref="MirrorClassification"/> struct.</summary>
    /// <param name="class">The class.</param>
    /// <param name="reason">Why the class was chosen.</param>
    /// <param name="condition">What a request must carry for the class to hold (endpoint classifications only).</param>
    public MirrorClassification(MirrorSafetyClass @class, MirrorSafetyReason reason, MirrorRequestCondition condition = MirrorRequestCondition.None)
    {
        Class = @class;
        Reason = reason;
        Condition = condition;
    }

    /// <summary>Gets the class.</summary>
    public MirrorSafetyClass Class { get; }

    /// <summary>Gets why the class was chosen.</summary>
    public MirrorSafetyReason Reason { get; }

    /// <summary>
    /// Gets what a request must carry for <see cref="Class"/> to hold. Only endpoint classifications have a
    /// condition: a request classification already accounts for the request's headers.
    /// </summary>
    public MirrorRequestCondition Condition { get; }

    /// <summary>Gets a sentence that explains <see cref="Reason"/> to an operator.</summary>
    public string Description => MirrorSafetyDescriptions.Describe(Reason);

    /// <summary>Gets whether a copy may run on a canary that shares the primary's data: only <see cref="MirrorSafetyClass.Safe"/>.</summary>
    public bool IsMirrorableWithSharedData => Class == MirrorSafetyClass.Safe;

    /// <summary>Gets whether a copy may run on a canary with its own data: every class but <see cref="MirrorSafetyClass.Unsafe"/>.</summary>
    public bool IsMirrorableWithIsolatedData => Class != MirrorSafetyClass.Unsafe;

    /// <summary>Gets whether a copy may run on a canary with the given data mode.</summary>
    /// <param name="data">How the canary's data relates to the primary's.</param>
    /// <returns><see langword="true"/> when a copy may run.</returns>
    public bool IsMirrorable(MirrorDataMode data) =>
        data == MirrorDataMode.Isolated ? IsMirrorableWithIsolatedData : IsMirrorableWithSharedData;
}
