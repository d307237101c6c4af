namespace Idempotency.AspNetCore.Mirroring;

/// <summary>
/// Declares that processing one of the endpoint's requests twice has the effect of processing it once (an upsert,
/// a set-to-value), whatever its method, so copies may run on a canary with isolated data.
/// The same as <c>.IdempotentByDesign()</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, AllowMultiple = false, Inherited = true)]
public sealed class IdempotentByDesignAttribute : Attribute, IMirrorSafetyMetadata
{
    /// <inheritdoc />
    public MirrorSafetyDeclaration Declaration => MirrorSafetyDeclaration.IdempotentByDesign;
}
