namespace Idempotency.AspNetCore.Mirroring;

/// <summary>
/// Carries "this code runs for a mirrored copy" from the guard to outgoing <see cref="HttpClient"/> calls, which run
/// outside the request's services. Set only around copies that run; it flows into work the copy starts and is
/// restored when the guard returns.
/// </summary>
internal static class MirroredRequestContext
{
    private static readonly AsyncLocal<IMirroredRequestFeature?> s_current = new();

    public static IMirroredRequestFeature? Current
    {
        get => s_current.Value;
        set => s_current.Value = value;
    }
}
