namespace Idempotency.AspNetCore.Deduplication;

/// <summary>
/// Requires an <c>Idempotency-Key</c> on the endpoint: each keyed request runs once and its response is replayed to
/// every retry; a request without a key gets 400. The same as <c>.RequireIdempotency()</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, AllowMultiple = false, Inherited = true)]
public sealed class RequireIdempotencyAttribute : Attribute, IIdempotencyMetadata
{
    /// <inheritdoc />
    public IdempotencyRequirement Requirement => IdempotencyRequirement.Required;
}
