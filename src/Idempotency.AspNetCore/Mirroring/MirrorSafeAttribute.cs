namespace Idempotency.AspNetCore.Mirroring;

/// <summary>
/// Declares that the endpoint changes nothing, whatever its method, so mirrored copies of its requests may run on
/// any canary. The same as <c>.MirrorSafe()</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, AllowMultiple = false, Inherited = true)]
public sealed class MirrorSafeAttribute : Attribute, IMirrorSafetyMetadata
{
    /// <inheritdoc />
    public MirrorSafetyDeclaration Declaration => MirrorSafetyDeclaration.MirrorSafe;
}
