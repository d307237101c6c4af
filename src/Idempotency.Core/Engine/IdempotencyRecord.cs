namespace Idempotency;

/// <summary>A completed record as <see cref="IdempotencyEngine"/> found it in the store, its envelope read and checked.</summary>
public readonly struct IdempotencyRecord
{
    internal IdempotencyRecord(IdempotencyRecordKind kind, ReadOnlyMemory<byte> content, DateTimeOffset? completedAt, IdempotencyRecordFormat format)
    {
        Kind = kind;
        Content = content;
        CompletedAt = completedAt;
        Format = format;
    }

    /// <summary>Gets what the record holds; each adapter reads only its own kind.</summary>
    public IdempotencyRecordKind Kind { get; }

    /// <summary>Gets the content the adapter wrote (a slice of the stored payload, not a copy).</summary>
    public ReadOnlyMemory<byte> Content { get; }

    /// <summary>Gets when the record was completed, or <see langword="null"/> for a record of <see cref="IdempotencyRecordFormat.Version1"/>, which does not say.</summary>
    public DateTimeOffset? CompletedAt { get; }

    /// <summary>Gets the envelope version the record was written in.</summary>
    public IdempotencyRecordFormat Format { get; }

    /// <summary>
    /// Reads an <see cref="IdempotencyRecordKind.OutcomeUnknown"/> record: the status the operation's outcome had
    /// started with when it failed (an HTTP status, or 0 where the transport has none).
    /// </summary>
    /// <returns>The started status.</returns>
    /// <exception cref="InvalidOperationException">The record is of another kind.</exception>
    /// <exception cref="InvalidDataException">The record is corrupt.</exception>
    public int GetStartedStatus()
    {
        if (Kind != IdempotencyRecordKind.OutcomeUnknown)
        {
            throw new InvalidOperationException($"The record holds {Kind}, not {IdempotencyRecordKind.OutcomeUnknown}.");
        }

        if (Content.Length != sizeof(short))
        {
            throw new InvalidDataException("The stored 'outcome unknown' record has the wrong length; it is corrupt.");
        }

        return System.Buffers.Binary.BinaryPrimitives.ReadInt16BigEndian(Content.Span);
    }
}
