namespace Idempotency;

/// <summary>
/// What an adapter asks <see cref="IdempotencyEngine"/> to store for an operation's outcome: its kind and its content,
/// which the engine writes once, straight into the record after the envelope, without an intermediate copy.
/// </summary>
public abstract class IdempotencyRecordContent
{
    /// <summary>Gets the kind of record the content makes.</summary>
    public abstract IdempotencyRecordKind Kind { get; }

    /// <summary>Gets the length of the content in bytes.</summary>
    public abstract int Length { get; }

    /// <summary>Creates content from bytes the adapter already holds.</summary>
    /// <param name="kind">The kind of record.</param>
    /// <param name="content">The content; copied into the record when the engine writes it.</param>
    /// <returns>The content.</returns>
    public static IdempotencyRecordContent FromBytes(IdempotencyRecordKind kind, ReadOnlyMemory<byte> content) => new BytesContent(kind, content);

    /// <summary>Writes the content into <paramref name="destination"/>, which is exactly <see cref="Length"/> bytes long.</summary>
    /// <param name="destination">Where the content goes, in the record's buffer.</param>
    public abstract void WriteTo(Span<byte> destination);

    private sealed class BytesContent(IdempotencyRecordKind kind, ReadOnlyMemory<byte> content) : IdempotencyRecordContent
    {
        public override IdempotencyRecordKind Kind => kind;

        public override int Length => content.Length;

        public override void WriteTo(Span<byte> destination) => content.Span.CopyTo(destination);
    }
}
