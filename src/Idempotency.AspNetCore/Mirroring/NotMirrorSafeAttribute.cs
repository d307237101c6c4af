namespace Idempotency.AspNetCore.Mirroring;

/// <summary>
/// Declares that mirrored copies of the endpoint's requests must never run, whatever their method.
/// The same as <c>.NotMirrorSafe()</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, AllowMultiple = false, Inherited = true)]
public sealed class NotMirrorSafeAttribute : Attribute, IMirrorSafetyMetadata
{
    /// <inheritdoc />
    public MirrorSafetyDeclaration Declaration => MirrorSafetyDeclaration.NotMirrorSafe;
}
