namespace Idempotency.AspNetCore.Deduplication;

/// <summary>
/// Endpoint metadata that opts an endpoint in to (or out of) request deduplication. The metadata nearest the
/// endpoint wins, so <c>.DisableIdempotency()</c> on an endpoint overrides <c>.RequireIdempotency()</c> on its group.
/// </summary>
public interface IIdempotencyMetadata
{
    /// <summary>Gets how the endpoint treats the <c>Idempotency-Key</c> header.</summary>
    IdempotencyRequirement Requirement { get; }

    /// <summary>
    /// Gets the name of the <see cref="IdempotencyPolicy"/> the endpoint runs with (<see cref="IdempotencyOptions.Policies"/>),
    /// or <see langword="null"/> for the global <see cref="IdempotencyOptions"/>. Like the requirement, it comes from the
    /// nearest metadata: an endpoint's own <c>.RequireIdempotency()</c> without a name overrides its group's policy.
    /// </summary>
    string? PolicyName => null;
}
