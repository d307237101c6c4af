namespace Idempotency.AspNetCore.Deduplication;

/// <summary>
/// Endpoint metadata that opts an endpoint in to (or out of) request deduplication. The metadata nearest the
/// endpoint wins, so <c>.DisableIdempotency()</c> on an endpoint overrides <c>.RequireIdempotency()</c> on its group.
/// </summary>
public interface IIdempotencyMetadata
{
    /// <summary>Gets how the endpoint treats the <c>Idempotency-Key</c> header.</summary>
    IdempotencyRequirement Requirement { get; }
}
