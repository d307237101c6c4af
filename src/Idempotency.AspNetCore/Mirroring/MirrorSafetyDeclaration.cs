namespace Idempotency.AspNetCore.Mirroring;

/// <summary>What an endpoint declares about processing its requests twice (see <see cref="IMirrorSafetyMetadata"/>).</summary>
public enum MirrorSafetyDeclaration
{
    /// <summary>The handler changes nothing, whatever its method (a POST that runs a search, say): <see cref="MirrorSafetyClass.Safe"/>.</summary>
    MirrorSafe,

    /// <summary>
    /// Processing a request twice has the effect of processing it once (an upsert, a set-to-value), whatever its
    /// method: <see cref="MirrorSafetyClass.Idempotent"/>.
    /// </summary>
    IdempotentByDesign,

    /// <summary>A copy must never run, whatever the method (a GET with a side effect, say): <see cref="MirrorSafetyClass.Unsafe"/>.</summary>
    NotMirrorSafe,
}
