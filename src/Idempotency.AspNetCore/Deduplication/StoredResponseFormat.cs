using System.Buffers.Binary;
using System.Text;
using Microsoft.Extensions.Primitives;

namespace Idempotency.AspNetCore.Deduplication;

/// <summary>
/// The content of an <see cref="IdempotencyRecordKind.HttpResponse"/> record: the middleware's outcome codec. The
/// engine wraps it in the record's versioned envelope; this class only knows the response inside.
/// </summary>
/// <remarks>
/// Layout, all integers big-endian (every release has written exactly this after the envelope):
/// <code>
/// int16 status, byte flags (bit 0: body omitted), uint16 header count,
/// per header: string name, uint16 value count, string values...; int32 body length, body
/// string: int32 UTF-8 byte count, bytes
/// </code>
/// </remarks>
internal static class StoredResponseFormat
{
    private const byte BodyOmittedFlag = 1;

    /// <summary>The record content of <paramref name="response"/>, written once, straight into the record.</summary>
    public static IdempotencyRecordContent Content(StoredResponse response) => new ResponseContent(response);

    /// <summary>Decodes a stored response; its body is a slice of <paramref name="content"/>, not a copy.</summary>
    public static StoredResponse Decode(ReadOnlyMemory<byte> content)
    {
        var reader = new SpanReader(content.Span);
        var status = ReadStatus(ref reader);
        var flags = reader.ReadByte();
        var headerCount = reader.ReadUInt16();
        var headers = new KeyValuePair<string, StringValues>[headerCount];
        for (var i = 0; i < headerCount; i++)
        {
            var name = reader.ReadString();
            if (!IsHeaderName(name))
            {
                throw new InvalidDataException("The stored idempotency record holds a header name with whitespace, a control character or a colon; it is corrupt.");
            }

            var valueCount = reader.ReadUInt16();
            if (valueCount == 1)
            {
                headers[i] = new(name, ReadFieldValue(ref reader)); // one value, the common case: no array
                continue;
            }

            var values = new string[valueCount];
            for (var v = 0; v < values.Length; v++)
            {
                values[v] = ReadFieldValue(ref reader);
            }

            headers[i] = new(name, values);
        }

        var (bodyOffset, bodyLength) = reader.ReadBytesRange();
        reader.EnsureEnd();
        return new StoredResponse(status, headers, content.Slice(bodyOffset, bodyLength), (flags & BodyOmittedFlag) != 0);
    }

    private static string ReadFieldValue(ref SpanReader reader)
    {
        var value = reader.ReadString();
        return IsFieldValue(value)
            ? value
            : throw new InvalidDataException("The stored idempotency record holds a header value with a control character; it is corrupt.");
    }

    /// <summary>Reads the started status of an "outcome unknown" record, refusing one that is not an HTTP status.</summary>
    public static int StartedStatus(IdempotencyRecord record)
    {
        var status = record.GetStartedStatus();
        return status is < 100 or > 999
            ? throw new InvalidDataException($"The stored idempotency record holds status {status}, which is not an HTTP status; it is corrupt.")
            : status;
    }

    private static int ReadStatus(ref SpanReader reader)
    {
        var status = reader.ReadInt16();
        if (status is < 100 or > 999)
        {
            throw new InvalidDataException($"The stored idempotency record holds status {status}, which is not an HTTP status; it is corrupt.");
        }

        return status;
    }

    // Structure only: what could split or end the header block (whitespace, controls, a colon) is refused here; the
    // server's own validation of names and values applies when the replay sets them.
    private static bool IsHeaderName(string value)
    {
        if (value.Length == 0)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (c is <= ' ' or ':' or '\u007f')
            {
                return false;
            }
        }

        return true;
    }

    // A field value may hold any character but controls (horizontal tab aside): a stored CR or LF must never reach a response.
    private static bool IsFieldValue(string value)
    {
        foreach (var c in value)
        {
            if ((c < ' ' && c != '\t') || c == '\u007f')
            {
                return false;
            }
        }

        return true;
    }

    private ref struct SpanWriter(Span<byte> buffer)
    {
        private readonly Span<byte> _buffer = buffer;
        private int _position;

        public void WriteByte(byte value) => _buffer[_position++] = value;

        public void WriteInt16(short value)
        {
            BinaryPrimitives.WriteInt16BigEndian(_buffer[_position..], value);
            _position += 2;
        }

        public void WriteUInt16(ushort value)
        {
            BinaryPrimitives.WriteUInt16BigEndian(_buffer[_position..], value);
            _position += 2;
        }

        public void WriteString(string value)
        {
            var count = Encoding.UTF8.GetBytes(value, _buffer[(_position + 4)..]);
            BinaryPrimitives.WriteInt32BigEndian(_buffer[_position..], count);
            _position += 4 + count;
        }

        public void WriteBytes(ReadOnlySpan<byte> value)
        {
            BinaryPrimitives.WriteInt32BigEndian(_buffer[_position..], value.Length);
            value.CopyTo(_buffer[(_position + 4)..]);
            _position += 4 + value.Length;
        }
    }

    private ref struct SpanReader(ReadOnlySpan<byte> buffer)
    {
        private readonly ReadOnlySpan<byte> _buffer = buffer;
        private int _position;

        public byte ReadByte() => _buffer[Advance(1)];

        public short ReadInt16() => BinaryPrimitives.ReadInt16BigEndian(_buffer[Advance(2)..]);

        public ushort ReadUInt16() => BinaryPrimitives.ReadUInt16BigEndian(_buffer[Advance(2)..]);

        public string ReadString() => Encoding.UTF8.GetString(ReadBytes());

        public ReadOnlySpan<byte> ReadBytes()
        {
            var (offset, length) = ReadBytesRange();
            return _buffer.Slice(offset, length);
        }

        public (int Offset, int Length) ReadBytesRange()
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(_buffer[Advance(4)..]);
            if (length < 0)
            {
                throw Truncated();
            }

            return (Advance(length), length);
        }

        public readonly void EnsureEnd()
        {
            if (_position != _buffer.Length)
            {
                throw new InvalidDataException("The stored idempotency record has trailing bytes; it is corrupt.");
            }
        }

        private int Advance(int count)
        {
            if (count > _buffer.Length - _position)
            {
                throw Truncated();
            }

            var start = _position;
            _position += count;
            return start;
        }

        private static InvalidDataException Truncated() => new("The stored idempotency record is truncated; it is corrupt.");
    }

    private sealed class ResponseContent(StoredResponse response) : IdempotencyRecordContent
    {
        private int _length = -1;

        public override IdempotencyRecordKind Kind => IdempotencyRecordKind.HttpResponse;

        public override int Length => _length >= 0 ? _length : _length = Measure();

        public override void WriteTo(Span<byte> destination)
        {
            var writer = new SpanWriter(destination);
            writer.WriteInt16((short)response.StatusCode);
            writer.WriteByte(response.BodyOmitted ? BodyOmittedFlag : (byte)0);
            var headers = response.Headers;
            writer.WriteUInt16(checked((ushort)headers.Count));
            for (var i = 0; i < headers.Count; i++) // by index: a foreach over the interface would box an enumerator
            {
                var (name, values) = headers[i];
                writer.WriteString(name);
                writer.WriteUInt16(checked((ushort)values.Count));
                foreach (var value in values)
                {
                    writer.WriteString(value!);
                }
            }

            writer.WriteBytes(response.Body.Span);
        }

        private int Measure()
        {
            var size = 2 + 1 + 2 + 4 + response.Body.Length;
            var headers = response.Headers;
            for (var i = 0; i < headers.Count; i++)
            {
                var (name, values) = headers[i];
                size += 4 + Encoding.UTF8.GetByteCount(name) + 2;
                foreach (var value in values)
                {
                    size += 4 + Encoding.UTF8.GetByteCount(value!);
                }
            }

            return size;
        }
    }
}
