namespace Idempotency.AspNetCore.Deduplication;

/// <summary>
/// Ignores any <c>Idempotency-Key</c> on the endpoint, overriding a requirement set on its group or controller.
/// The same as <c>.DisableIdempotency()</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, AllowMultiple = false, Inherited = true)]
public sealed class DisableIdempotencyAttribute : Attribute, IIdempotencyMetadata
{
    /// <inheritdoc />
    public IdempotencyRequirement Requirement => IdempotencyRequirement.Disabled;
}
