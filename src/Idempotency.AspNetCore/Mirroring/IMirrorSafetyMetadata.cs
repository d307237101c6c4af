namespace Idempotency.AspNetCore.Mirroring;

/// <summary>
/// Endpoint metadata that declares how safely the endpoint's requests can be processed twice, overriding what its
/// methods imply. The metadata nearest the endpoint wins, so <c>.NotMirrorSafe()</c> on an endpoint overrides
/// <c>.MirrorSafe()</c> on its group.
/// </summary>
public interface IMirrorSafetyMetadata
{
    /// <summary>Gets what the endpoint declares.</summary>
    MirrorSafetyDeclaration Declaration { get; }
}
