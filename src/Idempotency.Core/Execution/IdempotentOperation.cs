namespace Idempotency;

/// <summary>Identifies one logical operation for <see cref="IdempotentExecutor"/>: who asks, with which key, to do what.</summary>
public sealed class IdempotentOperation
{
    /// <summary>Initializes an operation description.</summary>
    /// <param name="key">
    /// The idempotency key, e.g. a message id: 1 to 255 visible ASCII characters. Every delivery of the same
    /// logical operation must carry the same key.
    /// </param>
    /// <param name="payload">
    /// The bytes that define the operation (a message body). Reusing the key with a different payload is refused
    /// with <see cref="IdempotencyKeyReusedException"/>.
    /// </param>
    /// <param name="scope">Whose key it is (a tenant, a producer); keys of different scopes never collide. Empty by default.</param>
    public IdempotentOperation(string key, ReadOnlyMemory<byte> payload, string scope = "")
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(scope);
        if (IdempotencyKeyParser.TryParse(key, strict: false, IdempotencyDefaults.MaxKeyLength, out var parsed) != IdempotencyKeyParseStatus.Valid
            || !string.Equals(parsed, key, StringComparison.Ordinal))
        {
            throw new ArgumentException(
                $"An idempotency key is 1 to {IdempotencyDefaults.MaxKeyLength} visible ASCII characters other than '\"', '\\', ',' and ';'.",
                nameof(key));
        }

        Key = key;
        Payload = payload;
        Scope = scope;
    }

    /// <summary>Gets the idempotency key.</summary>
    public string Key { get; }

    /// <summary>Gets the bytes that define the operation.</summary>
    public ReadOnlyMemory<byte> Payload { get; }

    /// <summary>Gets whose key it is.</summary>
    public string Scope { get; }

    /// <summary>
    /// Gets or sets the operation's name in audit events and logs: a message type, a job name. Never a value that holds
    /// ids or personal data.
    /// </summary>
    /// <remarks>
    /// The name does not keep operations apart: two operations with the same key, scope and payload are the same
    /// operation whatever their names, and the second is answered with the first one's result. Give each consumer of
    /// the same message its own <see cref="Scope"/>.
    /// </remarks>
    /// <value>The default is the empty string.</value>
    public string Name { get; init; } = string.Empty;

    /// <summary>
    /// Gets or sets a store bound to the operation's own unit of work (a database transaction), in which the key is
    /// claimed and whose commit makes the key, the operation's changes and its result durable together. The caller
    /// begins it, runs the operation's changes in it, and disposes it afterwards.
    /// </summary>
    /// <value>The default is <see langword="null"/>: the application's <see cref="IIdempotencyStore"/>.</value>
    public IIdempotencyUnitOfWorkStore? UnitOfWork { get; init; }
}
