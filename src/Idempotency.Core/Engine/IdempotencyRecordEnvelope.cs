using System.Buffers.Binary;

namespace Idempotency;

/// <summary>
/// The envelope of every stored record: the one place that writes and reads its version, kind and completion time.
/// Stores keep records as opaque bytes; adapters see only their content.
/// </summary>
/// <remarks>
/// <code>
/// version 1: byte 1, byte kind, content
/// version 2: byte 2, byte kind, int64 completed-at (Unix milliseconds, big-endian), content
/// </code>
/// </remarks>
internal static class IdempotencyRecordEnvelope
{
    /// <summary>The newest version this release reads; it reads the one before too.</summary>
    public const IdempotencyRecordFormat Newest = IdempotencyRecordFormat.Version2;

    private static readonly long s_maxUnixMilliseconds = DateTimeOffset.MaxValue.ToUnixTimeMilliseconds();

    public static int HeaderLength(IdempotencyRecordFormat format) => format == IdempotencyRecordFormat.Version1 ? 2 : 10;

    public static byte[] Write(IdempotencyRecordFormat format, IdempotencyRecordContent content, DateTimeOffset completedAt)
    {
        var headerLength = HeaderLength(format);
        var record = new byte[headerLength + content.Length];
        record[0] = (byte)format;
        record[1] = (byte)content.Kind;
        if (format == IdempotencyRecordFormat.Version2)
        {
            BinaryPrimitives.WriteInt64BigEndian(record.AsSpan(2), completedAt.ToUnixTimeMilliseconds());
        }

        content.WriteTo(record.AsSpan(headerLength));
        return record;
    }

    public static byte[] WriteOutcomeUnknown(IdempotencyRecordFormat format, int startedStatus, DateTimeOffset completedAt)
    {
        var status = new byte[sizeof(short)];
        BinaryPrimitives.WriteInt16BigEndian(status, checked((short)startedStatus));
        return Write(format, IdempotencyRecordContent.FromBytes(IdempotencyRecordKind.OutcomeUnknown, status), completedAt);
    }

    public static IdempotencyRecord Read(ReadOnlyMemory<byte> payload)
    {
        var span = payload.Span;
        if (span.Length < 2)
        {
            throw new InvalidDataException("The stored idempotency record is truncated; it is corrupt.");
        }

        var format = (IdempotencyRecordFormat)span[0];
        if (format is not (IdempotencyRecordFormat.Version1 or IdempotencyRecordFormat.Version2))
        {
            throw new InvalidDataException(
                $"The stored idempotency record has format version {span[0]}; this library reads versions 1 and 2. " +
                "A newer release wrote it: upgrade every instance that shares the store, or let the record expire.");
        }

        var kind = (IdempotencyRecordKind)span[1];
        var headerLength = HeaderLength(format);
        if (span.Length < headerLength)
        {
            throw new InvalidDataException("The stored idempotency record is truncated; it is corrupt.");
        }

        DateTimeOffset? completedAt = null;
        if (format == IdempotencyRecordFormat.Version2)
        {
            var milliseconds = BinaryPrimitives.ReadInt64BigEndian(span[2..]);
            if (milliseconds < 0 || milliseconds > s_maxUnixMilliseconds)
            {
                throw new InvalidDataException("The stored idempotency record has a completion time out of range; it is corrupt.");
            }

            completedAt = DateTimeOffset.FromUnixTimeMilliseconds(milliseconds);
        }

        return new IdempotencyRecord(kind, payload[headerLength..], completedAt, format);
    }
}
