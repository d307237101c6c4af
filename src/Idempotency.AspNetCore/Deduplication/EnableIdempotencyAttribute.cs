namespace Idempotency.AspNetCore.Deduplication;

/// <summary>
/// Honours an <c>Idempotency-Key</c> on the endpoint when the client sends one; requests without a key run as usual.
/// The same as <c>.EnableIdempotency()</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, AllowMultiple = false, Inherited = true)]
public sealed class EnableIdempotencyAttribute : Attribute, IIdempotencyMetadata
{
    /// <inheritdoc />
    public IdempotencyRequirement Requirement => IdempotencyRequirement.Optional;
}
