namespace Idempotency.AspNetCore.Mirroring;

/// <summary>
/// Endpoint metadata that declares how safely the endpoint's requests can be processed twice, overriding what its
/// methods imply. When an endpoint carries several (its group's and its own; a controller's, an action's and
/// <c>MapControllers()</c>'s conventions), the most cautious wins: <see cref="MirrorSafetyDeclaration.NotMirrorSafe"/>,
/// then <see cref="MirrorSafetyDeclaration.IdempotentByDesign"/>, then <see cref="MirrorSafetyDeclaration.MirrorSafe"/>.
/// </summary>
public interface IMirrorSafetyMetadata
{
    /// <summary>Gets what the endpoint declares.</summary>
    MirrorSafetyDeclaration Declaration { get; }
}
