namespace Idempotency.AspNetCore.Mirroring;

/// <summary>Whether a canary that receives mirrored copies works on the primary's data or on its own.</summary>
public enum MirrorDataMode
{
    /// <summary>
    /// The canary reads and writes the primary's databases and services. Only <see cref="MirrorSafetyClass.Safe"/>
    /// copies may run; everything else would apply an effect a second time.
    /// </summary>
    Shared,

    /// <summary>
    /// The canary has its own data (a copy of the database, stubbed payment and mail services). Every copy except
    /// <see cref="MirrorSafetyClass.Unsafe"/> ones may run; idempotency keys of copies are kept apart from the
    /// originals' even when both instances share one idempotency store.
    /// </summary>
    Isolated,
}
