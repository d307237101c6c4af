namespace Idempotency.AspNetCore.Tests.Mirroring;

/// <summary>Endpoint metadata that requires a precondition, as the conditional-request feature declares it.</summary>
internal sealed class PreconditionRequired : IPreconditionRequirementMetadata;
