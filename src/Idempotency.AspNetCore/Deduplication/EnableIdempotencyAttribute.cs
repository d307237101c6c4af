namespace Idempotency.AspNetCore.Deduplication;

/// <summary>
/// Honours an <c>Idempotency-Key</c> on the endpoint when the client sends one; requests without a key run as usual.
/// The same as <c>.EnableIdempotency()</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, AllowMultiple = false, Inherited = true)]
public sealed class EnableIdempotencyAttribute : Attribute, IIdempotencyMetadata
{
    /// <summary>
    /// Gets or sets the name of the <see cref="IdempotencyPolicy"/> the endpoint runs with, registered with
    /// <see cref="IdempotencyOptions.AddPolicy"/>; <see langword="null"/> for the global options. The same as
    /// <c>.EnableIdempotency("name")</c>. A name that is not registered fails the host at start-up.
    /// </summary>
    /// <value>The default is <see langword="null"/>.</value>
    public string? PolicyName { get; set; }

    /// <inheritdoc />
    public IdempotencyRequirement Requirement => IdempotencyRequirement.Optional;
}
