namespace Idempotency.AspNetCore.Mirroring;

internal sealed class MirroredRequestFeature(MirrorCopySignal signal, MirrorClassification classification, MirrorGuardAction action) : IMirroredRequestFeature
{
    public MirrorCopySignal Signal { get; } = signal;

    public MirrorClassification Classification { get; } = classification;

    public MirrorGuardAction Action { get; } = action;
}
