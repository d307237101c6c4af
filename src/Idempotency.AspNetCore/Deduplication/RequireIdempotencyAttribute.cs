namespace Idempotency.AspNetCore.Deduplication;

/// <summary>
/// Requires an <c>Idempotency-Key</c> on the endpoint: each keyed request runs once and its response is replayed to
/// every retry; a request without a key gets 400. The same as <c>.RequireIdempotency()</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, AllowMultiple = false, Inherited = true)]
public sealed class RequireIdempotencyAttribute : Attribute, IIdempotencyMetadata
{
    /// <summary>
    /// Gets or sets the name of the <see cref="IdempotencyPolicy"/> the endpoint runs with, registered with
    /// <see cref="IdempotencyOptions.AddPolicy"/>; <see langword="null"/> for the global options. The same as
    /// <c>.RequireIdempotency("name")</c>. A name that is not registered fails the host at start-up.
    /// </summary>
    /// <value>The default is <see langword="null"/>.</value>
    public string? PolicyName { get; set; }

    /// <inheritdoc />
    public IdempotencyRequirement Requirement => IdempotencyRequirement.Required;
}
